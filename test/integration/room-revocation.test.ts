/**
 * Issue 16: a member whose access is taken back loses the room's live events within a stated
 * time. Two ways to lose it: the room authorizer changes its answer (the sweep asks again every
 * `roomAuthorizerCacheMs`, here 200 ms, and ends the onRoom stream with FORBIDDEN, releases the
 * membership, and onEvent stops hearing the room), and a token refreshed without the room (the
 * client reconnects with it and its room subscription is refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { createRealtimeClient } from '../../client/index.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { collect } from '../support/collect.js';
import { startServer, transports, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const sweepMs = 200;
let t: TestServer;
const granted = new Set<string>();
beforeAll(async () => {
  t = await startServer({}, { authorizeRoom: ({ user, roomId }) => granted.has(`${user.userId}|${roomId}`), roomAuthorizerCacheMs: sweepMs });
});
afterAll(async () => t.stop());

const roomEvents = (events: RealtimeEvent[], roomId: string, message: string) =>
  events.filter((event) => event.roomId === roomId && (event.data as { message?: string }).message === message);

describe.each(transports)('revoked by the authorizer, over %s', (transport) => {
  it('ends onRoom with FORBIDDEN, releases the membership and silences onEvent within one sweep', async () => {
    const roomId = `project:${transport}`;
    const userId = `member-${transport}`;
    granted.add(`${userId}|${roomId}`);
    const admin = t.http(await t.token('root', 'admin'));
    const member = t.connect(await t.token(userId, 'user', '1h', { rooms: [] }), { transport });
    const room = collect(member.api.onRoom, { roomId });
    const everything = collect(member.api.onEvent, undefined);
    await waitFor(() => room.started && everything.started, 'subscribed');
    await member.api.rooms.join.mutate({ roomId });
    await admin.admin.broadcast.mutate({ roomId, type: 'system.maintenance', data: { message: 'before' } });
    await waitFor(() => roomEvents(room.events, roomId, 'before').length === 1 && roomEvents(everything.events, roomId, 'before').length === 1, 'before');

    const revokedAt = Date.now();
    granted.delete(`${userId}|${roomId}`);
    await waitFor(() => room.errors.length > 0, 'onRoom ended', 10 * sweepMs + 2_000);
    console.log(`[room access] ${transport}: onRoom ended ${Date.now() - revokedAt} ms after the authorizer changed its answer (sweep every ${sweepMs} ms)`);
    expect(room.errors[0]).toMatchObject({ data: { code: 'FORBIDDEN' }, message: `Access to room ${roomId} was revoked` });
    await waitFor(async () => !(await admin.rooms.members.query({ roomId })).some((presence) => presence.userId === userId), 'membership released');

    await admin.admin.broadcast.mutate({ roomId, type: 'system.maintenance', data: { message: 'after' } });
    await admin.admin.broadcast.mutate({ type: 'system.maintenance', data: { message: 'marker' } });
    await waitFor(() => everything.events.some((event) => (event.data as { message?: string }).message === 'marker'), 'marker');
    expect(roomEvents(everything.events, roomId, 'after')).toEqual([]);
    expect(roomEvents(room.events, roomId, 'after')).toEqual([]);
    // The room is closed to them now, on any call.
    await expect(member.api.rooms.join.mutate({ roomId })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    // Nothing left watched for this user's ended room stream.
    member.close();
    await waitFor(() => t.server.roomAccessSweep.watchedCount === 0, 'no stream watched');
  });
});

describe.each(['websocket', 'sse'] as const)('a token refreshed without the room, vanilla client over %s', (transport) => {
  it('refuses the room on reconnect and delivers none of its events', async () => {
    const roomId = `team:${transport}`;
    const userId = `refreshed-${transport}`;
    let token = await t.token(userId, 'user', '1h', { rooms: [roomId] });
    const client = createRealtimeClient({
      url: t.url,
      token: () => Promise.resolve(token),
      transport,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      EventSource,
      retryDelayMs: () => 50,
    });
    const inRoom: RealtimeEvent[] = [];
    const inEvents: RealtimeEvent[] = [];
    const errors: Error[] = [];
    let starts = 0;
    const stopRoom = client.subscribeToRoom(roomId, (event) => inRoom.push(event), { onError: (error) => errors.push(error), onStarted: () => starts++ });
    const stopEvents = client.subscribeToEvents({}, (event) => inEvents.push(event));
    await waitFor(() => starts > 0, 'room subscribed');
    const admin = t.http(await t.token('root', 'admin'));
    await waitFor(async () => (await admin.rooms.members.query({ roomId })).some((presence) => presence.userId === userId), 'member');
    await admin.admin.broadcast.mutate({ roomId, type: 'system.maintenance', data: { message: 'before' } });
    await waitFor(() => roomEvents(inRoom, roomId, 'before').length === 1, 'before');

    token = await t.token(userId, 'user', '1h', { rooms: [] });
    t.dropAll();
    await waitFor(() => errors.length > 0, 'room refused after the reconnect');
    expect(errors[0]).toMatchObject({ data: { code: 'FORBIDDEN' } });
    await waitFor(async () => !(await admin.rooms.members.query({ roomId })).some((presence) => presence.userId === userId), 'not a member');
    await admin.admin.broadcast.mutate({ roomId, type: 'system.maintenance', data: { message: 'after' } });
    await admin.admin.broadcast.mutate({ type: 'system.maintenance', data: { message: 'marker' } });
    await waitFor(() => inEvents.some((event) => (event.data as { message?: string }).message === 'marker'), 'marker');
    expect(roomEvents(inEvents, roomId, 'after')).toEqual([]);
    expect(roomEvents(inRoom, roomId, 'after')).toEqual([]);
    stopRoom();
    stopEvents();
    await client.close();
  });
});
