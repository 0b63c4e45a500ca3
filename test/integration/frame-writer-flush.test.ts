/**
 * The fan-out's frame writer (server/transport/frame-writer.ts) with real `ws` sockets over
 * loopback and a clock the test moves: a tick that starts after a quiet spell flushes its sockets
 * in chunks while its fan-out goes on (readers start early: issue 17's latency at a fixed rate);
 * a tick that writes a socket twice (a burst) holds the rest to its end, and the next tick holds
 * everything; a tick soon after the last one holds everything.
 */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionFrameWriter, quietBeforeEagerMs, TickFlusher } from '../../server/transport/frame-writer.js';

const count = 600;
let server: WebSocketServer;
const serverSide: WebSocket[] = [];
const clients: WebSocket[] = [];

beforeAll(async () => {
  server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(server, 'listening');
  server.on('connection', (socket) => serverSide.push(socket));
  const { port } = server.address() as AddressInfo;
  for (let index = 0; index < count; index++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    clients.push(client);
    await once(client, 'open');
  }
  while (serverSide.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
});

afterAll(async () => {
  for (const client of clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

const frame = Buffer.from([0x81, 0x02, 0x68, 0x69]); // a text frame: "hi"
const corked = (webSocket: WebSocket) => (webSocket as unknown as { _socket: Socket })._socket.writableCorked > 0;
const endOfTick = () => new Promise((resolve) => process.nextTick(resolve));

/** A flusher on a clock the test sets, and a writer per server-side socket. */
function setUp() {
  let now = 1_000;
  const flusher = new TickFlusher(() => now);
  const writers = serverSide.map((socket) => ConnectionFrameWriter.for(socket, flusher)!);
  return { writers, advance: (ms: number) => (now += ms) };
}

describe('frame writer flushing', () => {
  it('flushes one event to 600 sockets in chunks while it fans out after a quiet spell, and everything by the end of the tick', async () => {
    const { writers } = setUp();
    writers.forEach((writer) => expect(writer.write(frame)).toBe(true));
    // Still inside the fan-out's tick: the first chunks are uncorked, the tail is not.
    expect(corked(serverSide[0]!)).toBe(false);
    expect(corked(serverSide[count - 1]!)).toBe(true);
    await endOfTick();
    expect(serverSide.some(corked)).toBe(false);
  });

  it('holds a burst (a socket written twice) to the end of its tick, and the whole next tick', async () => {
    const { writers, advance } = setUp();
    for (let event = 0; event < 2; event++) writers.forEach((writer) => writer.write(frame));
    // The second event found the first chunk flushed early: the rest of the tick is held.
    expect(corked(serverSide[count - 1]!)).toBe(true);
    await endOfTick();
    expect(serverSide.some(corked)).toBe(false);
    advance(quietBeforeEagerMs * 4);
    writers.forEach((writer) => writer.write(frame));
    expect(serverSide.every(corked)).toBe(true);
    await endOfTick();
    expect(serverSide.some(corked)).toBe(false);
    // After a tick without a repeat and a quiet spell, a single event flushes early again.
    advance(quietBeforeEagerMs * 4);
    writers.forEach((writer) => writer.write(frame));
    expect(corked(serverSide[0]!)).toBe(false);
    await endOfTick();
  });

  it('holds every socket to the end of a tick that starts soon after the last flush', async () => {
    const { writers, advance } = setUp();
    writers.forEach((writer) => writer.write(frame));
    await endOfTick();
    advance(quietBeforeEagerMs / 2);
    writers.forEach((writer) => writer.write(frame));
    expect(serverSide.every(corked)).toBe(true);
    await endOfTick();
    expect(serverSide.some(corked)).toBe(false);
  });
});
