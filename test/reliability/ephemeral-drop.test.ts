/**
 * A slow consumer drops stale ephemeral frames before anything durable: a socket that stopped
 * reading gets no more cursors once its outgoing buffer is past half its bound, while durable
 * events still queue for it up to the bound (then it is closed, 4008, and resumes). Real server
 * on port 0, a raw socket whose TCP socket is paused, publishes straight into the core.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

const mebibyte = 1024 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ maxBufferedBytes: 2 * mebibyte, ephemeralHz: 0 });
});
afterAll(async () => server.stop());

describe('a slow consumer and ephemeral frames', () => {
  it('stops getting cursors past half its buffer bound, before any durable event is refused', async () => {
    const slow = await openRawSocket(server.wsUrl, await server.token('stalled'));
    slow.send({ method: 'connectionParams', data: { token: await server.token('stalled') } });
    slow.send({ id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId: 'busy' } } } });
    await waitFor(() => slow.messages.some((message) => JSON.stringify(message).includes('"started"')), 'subscribed');
    (slow.socket as unknown as { _socket: Socket })._socket.pause();

    const { core } = server.server.services;
    await core.joinRoom('mover', 'busy');
    const counters = server.server.transport.counters;
    const text = 'x'.repeat(4_000);
    // Bounded: 8,000 × 4 kB is past what the kernel's buffers and the 2 MiB bound can hold together.
    for (let chunk = 0; chunk < 80 && counters.droppedEphemeral === 0 && counters.slowConsumerCloses === 0; chunk++) {
      for (let index = 0; index < 100; index++) await core.broadcastToRoom('busy', 'system.maintenance', { message: text });
      await core.publishInput({ roomId: 'busy' }, 'cursor.moved', { x: chunk, y: 0 }, 'mover');
      await sleep(5);
    }
    expect(counters.droppedEphemeral).toBeGreaterThan(0);
    // Durable events were still being queued for it when the first cursor was dropped.
    expect(counters.slowConsumerCloses).toBe(0);
    slow.close();
  });
});
