import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { startServer, transports, type TestServer } from '../support/server.js';
import { waitFor, sleep } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

describe.each(transports)('fan-out through the official client over %s', (transport) => {
  it('delivers every room broadcast exactly once to every subscriber, and only to them', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const members = await Promise.all(['m1', 'm2', 'm3'].map(async (userId) => t.connect(await t.token(userId), { transport })));
    const outsider = t.connect(await t.token('outsider'), { transport });
    const streams = members.map((member) => collect(member.api.onRoom, { roomId: 'fanout' }));
    const outsiderStream = collect(outsider.api.onRoom, { roomId: 'elsewhere' });
    await waitFor(async () => (await admin.rooms.members.query({ roomId: 'fanout' })).length === 3, 'three members');

    const sent: string[] = [];
    for (let index = 0; index < 20; index++) {
      const { eventId } = await admin.admin.broadcast.mutate({ roomId: 'fanout', type: 'sphere.updated', data: { changed: [`f${index}`] } });
      sent.push(eventId);
    }
    for (const stream of streams) {
      await waitFor(() => ofType(stream.events, 'sphere.updated').length >= 20, 'twenty updates');
    }
    await sleep(50);
    for (const stream of streams) {
      const received = ofType(stream.events, 'sphere.updated');
      expect(received.map((event) => event.id)).toEqual(sent);
      expect(received[0]).toMatchObject({ type: 'sphere.updated', roomId: 'fanout', senderId: 'root', timestamp: expect.any(Date) });
    }
    expect(ofType(outsiderStream.events, 'sphere.updated')).toHaveLength(0);
    for (const client of [...members, outsider]) client.close();
  });

  it('isolates direct sends: only the addressed user’s streams receive them', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const alice = t.connect(await t.token('alice'), { transport });
    const bob = t.connect(await t.token('bob'), { transport });
    const aliceEvents = collect(alice.api.onEvent, undefined);
    const aliceNotifications = collect(alice.api.onNotification, undefined);
    const bobEvents = collect(bob.api.onEvent, undefined);
    await waitFor(() => aliceEvents.started && aliceNotifications.started && bobEvents.started, 'subscriptions started');

    await admin.admin.send.mutate({ userId: 'alice', type: 'notification.new', data: { title: 'For Alice', message: 'only' } });
    await waitFor(() => ofType(aliceNotifications.events, 'notification.new').length === 1, 'alice notified');
    await waitFor(() => ofType(aliceEvents.events, 'notification.new').length === 1, 'alice event');
    await sleep(50);
    expect(ofType(bobEvents.events, 'notification.new')).toHaveLength(0);
    expect(aliceNotifications.events[0]).toMatchObject({ userId: 'alice', data: { title: 'For Alice', message: 'only' } });
    alice.close();
    bob.close();
  });

  it('broadcasts without a room to every connected user', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const users = await Promise.all(['u1', 'u2'].map(async (userId) => t.connect(await t.token(userId), { transport })));
    const streams = users.map((user) => collect(user.api.onNotification, undefined));
    await waitFor(() => streams.every((stream) => stream.started), 'started');
    await admin.admin.broadcast.mutate({ type: 'system.maintenance', data: { message: 'Server restart in 5 minutes' } });
    for (const stream of streams) await waitFor(() => ofType(stream.events, 'system.maintenance').length === 1, 'maintenance notice');
    for (const user of users) user.close();
  });

  it('delivers the rooms a user joined to their onEvent stream, including members’ presence and typing', async () => {
    const alice = t.connect(await t.token('alice2'), { transport });
    const bob = t.connect(await t.token('bob2'), { transport });
    const feed = collect(alice.api.onEvent, { types: ['user.typing', 'room.joined'] });
    await waitFor(() => feed.started, 'started');
    await alice.api.rooms.join.mutate({ roomId: 'chat' });
    await bob.api.rooms.join.mutate({ roomId: 'chat' });
    await bob.api.typing.mutate({ roomId: 'chat', isTyping: true });
    await waitFor(() => ofType(feed.events, 'user.typing').length === 1, 'typing');
    // The joins come in the room's next membership batch (MEMBERSHIP_BATCH_MS), maybe after the typing.
    const joined = () => ofType(feed.events, 'room.joined').map((event) => (event.data as { userId: string }).userId);
    await waitFor(() => joined().length === 2, 'both joins');
    expect(joined()).toEqual(['alice2', 'bob2']);
    expect(feed.events.every((event) => ['user.typing', 'room.joined', 'room.membership'].includes(event.type))).toBe(true);
    alice.close();
    bob.close();
  });
});
