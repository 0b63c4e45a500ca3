/**
 * Issue 16: who may enter a room. Every room procedure and subscription is refused (FORBIDDEN,
 * with a message naming the room) to a user whose token, OPEN_ROOMS and the authorizer do not
 * admit it, over WebSocket and SSE, with the official client and the vanilla client; the same
 * calls succeed when the `rooms` claim, OPEN_ROOMS or the authorizer admits the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { createRealtimeClient } from '../../client/index.js';
import type { RoomAuthorizationRequest } from '../../server/index.js';
import { collect } from '../support/collect.js';
import { startServer, transports, type TestClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
const asked: RoomAuthorizationRequest[] = [];
let authorizerFails = false;
beforeAll(async () => {
  t = await startServer(
    { openRooms: ['lobby:*'] },
    {
      // The embedding app's rule: 'granted:*' rooms for bob.
      authorizeRoom: async (request) => {
        asked.push(request);
        if (authorizerFails) throw new Error('directory unreachable');
        return request.user.userId === 'bob' && request.roomId.startsWith('granted:');
      },
      roomAuthorizerCacheMs: 60_000,
    },
  );
});
afterAll(async () => t.stop());

const refusal = (roomId: string) => ({ data: { code: 'FORBIDDEN' }, message: expect.stringContaining(`room ${roomId}`) });

/** Every room procedure and the room subscriptions, each expected to be refused. */
async function expectEveryRoomCallRefused(client: TestClient, roomId: string): Promise<void> {
  await expect(client.api.rooms.join.mutate({ roomId })).rejects.toMatchObject(refusal(roomId));
  await expect(client.api.rooms.get.query({ roomId })).rejects.toMatchObject(refusal(roomId));
  await expect(client.api.rooms.members.query({ roomId })).rejects.toMatchObject(refusal(roomId));
  await expect(client.api.typing.mutate({ roomId, isTyping: true })).rejects.toMatchObject(refusal(roomId));
  const room = collect(client.api.onRoom, { roomId });
  await waitFor(() => room.errors.length > 0, `onRoom(${roomId}) refused`);
  expect(room.errors[0]).toMatchObject(refusal(roomId));
  expect(room.events).toEqual([]);
}

/** What an admitted user may do: join, read, type, subscribe. */
async function expectEveryRoomCallAdmitted(client: TestClient, roomId: string, userId: string): Promise<void> {
  const room = collect(client.api.onRoom, { roomId });
  await waitFor(() => room.started, `onRoom(${roomId}) started`);
  await expect(client.api.rooms.join.mutate({ roomId })).resolves.toMatchObject({ roomId });
  await expect(client.api.rooms.get.query({ roomId })).resolves.toMatchObject({ roomId });
  expect((await client.api.rooms.members.query({ roomId })).map((member) => member.userId)).toContain(userId);
  await expect(client.api.typing.mutate({ roomId, isTyping: true })).resolves.toEqual({ ok: true });
  await waitFor(() => room.events.some((event) => event.type === 'user.typing'), 'own typing event');
  expect(room.errors).toEqual([]);
  room.unsubscribe();
}

describe.each(transports)('room access over %s', (transport) => {
  it('refuses every room procedure and subscription outside the rooms claim', async () => {
    const mallory = t.connect(await t.token(`mallory-${transport}`, 'user', '1h', { rooms: ['team:7'] }), { transport });
    await expectEveryRoomCallRefused(mallory, `secret-${transport}`);
    await expectEveryRoomCallRefused(mallory, 'team:70'); // an id is not a prefix
    // A token with no rooms claim at all enters nothing but OPEN_ROOMS.
    const bare = t.connect(await t.token(`bare-${transport}`, 'user', '1h', { rooms: [] }), { transport });
    await expectEveryRoomCallRefused(bare, 'team:7');
    mallory.close();
    bare.close();
  });

  it('admits by the rooms claim: an id, a prefix pattern, and * for every room', async () => {
    const userId = `claimant-${transport}`;
    const alice = t.connect(await t.token(userId, 'user', '1h', { rooms: ['team:7', 'project:*'] }), { transport });
    await expectEveryRoomCallAdmitted(alice, 'team:7', userId);
    await expectEveryRoomCallAdmitted(alice, `project:${transport}`, userId);
    const everywhere = t.connect(await t.token(`star-${transport}`, 'user', '1h', { rooms: ['*'] }), { transport });
    await expectEveryRoomCallAdmitted(everywhere, `anything-${transport}`, `star-${transport}`);
    alice.close();
    everywhere.close();
  });

  it('admits by OPEN_ROOMS and by the authorizer; admins and services reach every room', async () => {
    const bare = t.connect(await t.token(`guest-${transport}`, 'user', '1h', { rooms: [] }), { transport });
    await expectEveryRoomCallAdmitted(bare, `lobby:${transport}`, `guest-${transport}`);
    const bob = t.connect(await t.token('bob', 'user', '1h', { rooms: [] }), { transport });
    await expectEveryRoomCallAdmitted(bob, `granted:${transport}`, 'bob');
    await expectEveryRoomCallRefused(bob, `denied:${transport}`);
    for (const role of ['admin', 'service'] as const) {
      const operator = t.connect(await t.token(`${role}-${transport}`, role, '1h', { rooms: [] }), { transport });
      await expectEveryRoomCallAdmitted(operator, `private-${role}-${transport}`, `${role}-${transport}`);
      operator.close();
    }
    bare.close();
    bob.close();
  });
});

describe('the room authorizer', () => {
  it('is asked with the user, the room and the action, and its answers are cached', async () => {
    const bob = t.http(await t.token('bob', 'user', '1h', { rooms: [] }));
    asked.length = 0;
    for (let round = 0; round < 5; round++) await bob.rooms.get.query({ roomId: 'granted:cache' }).catch(() => null);
    await bob.rooms.members.query({ roomId: 'granted:cache' });
    // One question for five identical reads (the rest from the cache).
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ user: { userId: 'bob', role: 'user' }, roomId: 'granted:cache', action: 'read' });
    // Claims and OPEN_ROOMS never ask it.
    await t.http(await t.token('carol', 'user', '1h', { rooms: ['team:*'] })).rooms.members.query({ roomId: 'team:1' });
    await t.http(await t.token('dave', 'user', '1h', { rooms: [] })).rooms.members.query({ roomId: 'lobby:1' });
    expect(asked).toHaveLength(1);
  });

  it('answers SERVICE_UNAVAILABLE when it fails, and that failure is not cached', async () => {
    const bob = t.http(await t.token('bob', 'user', '1h', { rooms: [] }));
    authorizerFails = true;
    await expect(bob.rooms.join.mutate({ roomId: 'granted:flaky' })).rejects.toMatchObject({ data: { code: 'SERVICE_UNAVAILABLE' } });
    authorizerFails = false;
    await expect(bob.rooms.members.query({ roomId: 'granted:flaky' })).resolves.toEqual([]);
  });
});

describe('onEvent and a connection whose token no longer admits a room', () => {
  it('delivers the room to the connection whose token admits it, not to the one whose token does not', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const withRoom = t.connect(await t.token('erin', 'user', '1h', { rooms: ['ops'] }));
    await withRoom.api.rooms.join.mutate({ roomId: 'ops' });
    // The same user, refreshed without the room, on another connection.
    const refreshed = t.connect(await t.token('erin', 'user', '1h', { rooms: [] }));
    const admitted = collect(withRoom.api.onEvent, undefined);
    const narrowed = collect(refreshed.api.onEvent, undefined);
    await waitFor(() => admitted.started && narrowed.started, 'both subscribed');
    await admin.admin.broadcast.mutate({ roomId: 'ops', type: 'system.maintenance', data: { message: 'ops only' } });
    await admin.admin.broadcast.mutate({ type: 'system.maintenance', data: { message: 'everyone' } });
    await waitFor(() => narrowed.events.some((event) => event.type === 'system.maintenance'), 'broadcast to all');
    await waitFor(() => admitted.events.filter((event) => event.type === 'system.maintenance').length === 2, 'both broadcasts');
    expect(narrowed.events.filter((event) => event.roomId === 'ops')).toEqual([]);
    withRoom.close();
    refreshed.close();
  });
});

describe.each(['websocket', 'sse'] as const)('the vanilla client over %s', (transport) => {
  it('reports a refused room subscription as an error, not an empty stream', async () => {
    const client = createRealtimeClient({
      url: t.url,
      token: await t.token(`vanilla-${transport}`, 'user', '1h', { rooms: ['mine:*'] }),
      transport,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      EventSource,
      retryDelayMs: () => 50,
    });
    const errors: Error[] = [];
    let started = false;
    const stop = client.subscribeToRoom('theirs:1', () => undefined, { onError: (error) => errors.push(error), onStarted: () => (started = true) });
    await waitFor(() => errors.length > 0, 'refused');
    expect(errors[0]).toMatchObject(refusal('theirs:1'));
    const admitted = client.subscribeToRoom('mine:1', () => undefined, { onStarted: () => (started = true) });
    await waitFor(() => started, 'admitted');
    await expect(client.api.rooms.members.query({ roomId: 'theirs:1' })).rejects.toMatchObject(refusal('theirs:1'));
    stop();
    admitted();
    await client.close();
  });
});
