/**
 * Server under test (b): the smallest honest broadcast server on `ws`. The publisher's message
 * becomes an event envelope like ours, serialized once (JSON.stringify, then one Buffer) and
 * sent to every subscriber.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { benchRoomId } from '../contracts.js';
import { runBenchServer } from './harness.js';

await runBenchServer(async () => {
  const httpServer = createServer((_request, response) => response.writeHead(404).end());
  const webSocketServer = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
  const subscribers = new Set<WebSocket>();
  let sequence = 0;

  webSocketServer.on('connection', (socket, request) => {
    socket.on('error', () => socket.terminate());
    if (request.url?.includes('role=publisher')) {
      socket.on('message', (data) => {
        const { type, data: payload } = JSON.parse(data.toString()) as { type: string; data: unknown };
        const event = { id: String(++sequence), type, data: payload, timestamp: new Date(), roomId: benchRoomId, senderId: 'bench-admin' };
        const frame = Buffer.from(JSON.stringify(event));
        for (const subscriber of subscribers) subscriber.send(frame, { binary: false });
      });
      return;
    }
    subscribers.add(socket);
    socket.once('close', () => subscribers.delete(socket));
    socket.send('ready');
  });

  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    target: { kind: 'ws', url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/` },
    connectionCount: () => webSocketServer.clients.size,
    close: async () => {
      for (const socket of webSocketServer.clients) socket.terminate();
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
});
