/**
 * Issue 16: a user's presence and metadata are visible only to users who share a room with
 * them (presence.get, presence.online, rooms.members); admins and services see everyone. To
 * anyone else a user reads as offline, never seen, without metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../support/collect.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

describe('presence visibility', () => {
  it('shows presence and metadata to room-mates, admins and services, and to no one else', async () => {
    const alice = t.connect(await t.token('alice', 'user', '1h', { rooms: ['shared'] }));
    const bob = t.connect(await t.token('bob', 'user', '1h', { rooms: ['shared'] }));
    const carol = t.connect(await t.token('carol', 'user', '1h', { rooms: ['other'] }));
    await alice.api.rooms.join.mutate({ roomId: 'shared' });
    await bob.api.rooms.join.mutate({ roomId: 'shared' });
    await carol.api.rooms.join.mutate({ roomId: 'other' });
    await alice.api.presence.update.mutate({ status: 'busy', metadata: { project: 'acquisition' } });

    // A room-mate sees the status and the metadata.
    expect(await bob.api.presence.get.query({ userId: 'alice' })).toMatchObject({ status: 'busy', metadata: { project: 'acquisition' } });
    expect((await bob.api.presence.online.query()).map((presence) => presence.userId).sort()).toEqual(['alice', 'bob']);

    // Someone sharing no room: alice is offline and never seen, and not in the online list.
    const hidden = await carol.api.presence.get.query({ userId: 'alice' });
    expect(hidden).toEqual({ userId: 'alice', status: 'offline', lastSeen: new Date(0), connections: 0, idle: false });
    expect((await carol.api.presence.online.query()).map((presence) => presence.userId)).toEqual(['carol']);
    await expect(carol.api.rooms.members.query({ roomId: 'shared' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    // Their own presence is always theirs to see.
    expect(await carol.api.presence.get.query({ userId: 'carol' })).toMatchObject({ status: 'online' });

    // Admins and services see everyone.
    for (const role of ['admin', 'service'] as const) {
      const operator = t.http(await t.token(`${role}-1`, role, '1h', { rooms: [] }));
      expect(await operator.presence.get.query({ userId: 'alice' })).toMatchObject({ status: 'busy', metadata: { project: 'acquisition' } });
      expect((await operator.presence.online.query()).map((presence) => presence.userId)).toEqual(expect.arrayContaining(['alice', 'bob', 'carol']));
    }

    // carol's stream hears nothing of alice's presence.
    const carolEvents = collect(carol.api.onEvent, undefined);
    await waitFor(() => carolEvents.started, 'carol subscribed');
    await alice.api.presence.update.mutate({ status: 'away', metadata: { project: 'secret-2' } });
    await waitFor(async () => (await bob.api.presence.get.query({ userId: 'alice' })).status === 'away', 'bob sees away');
    await t.http(await t.token('root', 'admin')).admin.send.mutate({ userId: 'carol', type: 'notification.new', data: { title: 'marker', message: '' } });
    await waitFor(() => carolEvents.events.some((event) => event.type === 'notification.new'), 'marker');
    expect(JSON.stringify(carolEvents.events)).not.toContain('secret-2');

    // Once carol joins alice's room, she sees alice.
    const carolWithAccess = t.connect(await t.token('carol', 'user', '1h', { rooms: ['other', 'shared'] }));
    await carolWithAccess.api.rooms.join.mutate({ roomId: 'shared' });
    expect(await carol.api.presence.get.query({ userId: 'alice' })).toMatchObject({ status: 'away', metadata: { project: 'secret-2' } });
    for (const client of [alice, bob, carol, carolWithAccess]) client.close();
  });
});
