/**
 * Issue 6, item 2: a peer that goes silent (cable pulled: no pongs, no frames) is detected by the
 * keep-alive sweep and cleaned up: its connection, its subscriptions, its presence and its room
 * membership. The sweep runs every keepAlivePingMs; a connection that answered nothing since the
 * previous sweep is terminated, so detection takes at most two intervals after the last sign of
 * life (plus timer lateness).
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { asResponses, connectionParamsMessage, officialClient, openPlainSocket } from './support/clients.js';
import { expandRoomMembership } from '../../shared/membership-batches.js';

const keepAlivePingMs = 200;
/** Two sweep intervals, plus room for a busy machine's late timers. */
const detectionBoundMs = 2 * keepAlivePingMs + 1_000;

let t: TestServer;
beforeAll(async () => (t = await startServer({ keepAlivePingMs })));
afterAll(async () => t.stop());

async function watchRoom(roomId: string) {
  const bystander = officialClient(t.wsUrl, await t.token(`bystander-${roomId}`));
  const events: Array<{ event: RealtimeEvent; at: number }> = [];
  let started = false;
  bystander.api.onRoom.subscribe({ roomId }, { onStarted: () => (started = true), onData: ({ data }) => events.push(...expandRoomMembership(data).map((event) => ({ event, at: Date.now() }))) });
  await waitFor(() => started, 'bystander subscribed');
  return { bystander, events };
}

describe('dead peers', () => {
  it.each([
    ['stops answering pings (autoPong off)', 'silent'],
    ['stops reading its socket (paused)', 'paused'],
  ] as const)('a client that %s is terminated and cleaned within two ping intervals', async (_, how) => {
    const roomId = `dead-${how}`;
    const userId = `ghost-${how}`;
    const { core } = t.server.services;
    const { bystander, events } = await watchRoom(roomId);
    const before = { connections: core.stats().activeConnections, subscriptions: core.stats().subscriptions, terminations: t.server.transport.counters.deadPeerTerminations };

    const token = await t.token(userId);
    const subscribe = { id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId } } } };
    let lastSignOfLife: number;
    if (how === 'silent') {
      const silent = await openPlainSocket(t.wsUrl, { autoPong: false });
      silent.send(connectionParamsMessage(token));
      silent.send(subscribe);
      await waitFor(() => silent.messages.some((message) => message.result?.type === 'started'), 'silent peer subscribed');
      // From here it sends nothing and answers no ping.
      lastSignOfLife = Date.now();
    } else {
      const raw = await openRawSocket(t.wsUrl, token);
      raw.send(subscribe);
      await waitFor(() => asResponses(raw.messages).some((message) => message.result?.type === 'started'), 'peer subscribed');
      // Its pongs are answered by reading: a paused socket reads no ping, so sends no pong.
      (raw.socket as unknown as { _socket: Socket })._socket.pause();
      lastSignOfLife = Date.now();
    }
    expect(core.presenceOf(userId).status).toBe('online');
    expect(core.isRoomMember(roomId, userId)).toBe(true);

    await waitFor(() => core.presenceOf(userId).status === 'offline', 'the dead peer offline', detectionBoundMs + 2_000);
    const detectedAfterMs = Date.now() - lastSignOfLife;
    expect(core.stats().activeConnections).toBe(before.connections);
    expect(core.stats().subscriptions).toBe(before.subscriptions);
    expect(core.isRoomMember(roomId, userId)).toBe(false);
    expect(t.server.transport.counters.deadPeerTerminations).toBe(before.terminations + 1);
    // The room hears it: the user went offline and left.
    const left = await waitFor(() => events.find(({ event }) => event.type === 'room.left' && event.data.userId === userId), 'room.left seen by the bystander');
    expect(left.event).toMatchObject({ data: { reason: 'disconnected' } });
    expect(events.some(({ event }) => event.type === 'user.presence' && event.data.userId === userId && event.data.status === 'offline')).toBe(true);
    console.log(`[reliability] dead peer (${how}): detected and cleaned ${detectedAfterMs} ms after its last sign of life (keepAlivePingMs ${keepAlivePingMs}, bound ${detectionBoundMs} ms)`);
    expect(detectedAfterMs).toBeLessThanOrEqual(detectionBoundMs);
    expect(detectedAfterMs).toBeGreaterThanOrEqual(keepAlivePingMs - 50);
    await bystander.close();
  });

  it('keeps a quiet but healthy client: answering pings is enough', async () => {
    const healthy = await openRawSocket(t.wsUrl, await t.token('quiet'));
    healthy.send({ id: 1, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => asResponses(healthy.messages).some((message) => message.result?.type === 'started'), 'subscribed');
    const terminations = t.server.transport.counters.deadPeerTerminations;
    // Five sweeps without a frame from the client.
    await new Promise((resolve) => setTimeout(resolve, 5 * keepAlivePingMs));
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    expect(t.server.transport.counters.deadPeerTerminations).toBe(terminations);
    expect(t.server.services.core.presenceOf('quiet').status).toBe('online');
    healthy.close();
  });
});
