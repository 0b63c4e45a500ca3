/**
 * The fan-out's frame writer (server/transport/frame-writer.ts) with real `ws` sockets over
 * loopback: one event fanned out to many sockets is flushed in chunks while the fan-out goes on
 * (readers start early, issue 17's p99 at a fixed rate), and a burst that writes a socket twice
 * in one tick keeps every socket corked until the tick ends (one writev per socket for all).
 */
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionFrameWriter, TickFlusher } from '../../server/transport/frame-writer.js';

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
const corked = (webSocket: WebSocket) => ((webSocket as unknown as { _socket: Socket })._socket.writableCorked > 0);

describe('frame writer flushing', () => {
  it('flushes one event to 600 sockets in chunks while it fans out, and everything by the end of the tick', async () => {
    const flusher = new TickFlusher();
    const writers = serverSide.map((socket) => ConnectionFrameWriter.for(socket, flusher)!);
    writers.forEach((writer) => expect(writer.write(frame)).toBe(true));
    // Still inside the fan-out's tick: the first chunks are already uncorked, the tail is not.
    expect(corked(serverSide[0]!)).toBe(false);
    expect(corked(serverSide[count - 1]!)).toBe(true);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(serverSide.some(corked)).toBe(false);
  });

  it('keeps every socket corked to the end of a tick that writes a socket twice, and the next such tick', async () => {
    const flusher = new TickFlusher();
    const writers = serverSide.map((socket) => ConnectionFrameWriter.for(socket, flusher)!);
    for (let event = 0; event < 2; event++) writers.forEach((writer) => writer.write(frame));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(serverSide.some(corked)).toBe(false);
    // A burst comes in runs: the next tick coalesces from its first write.
    writers.forEach((writer) => writer.write(frame));
    expect(serverSide.every(corked)).toBe(true);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(serverSide.some(corked)).toBe(false);
    // After a tick without a repeat, single events flush early again.
    writers.forEach((writer) => writer.write(frame));
    expect(corked(serverSide[0]!)).toBe(false);
    await new Promise((resolve) => process.nextTick(resolve));
  });
});
