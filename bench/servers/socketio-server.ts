/**
 * Server under test (c): Socket.IO 4.8 broadcasting to a room. `io.to(room).emit` encodes the
 * packet once per broadcast and, on the websocket transport, pre-frames it once
 * (`wsPreEncodedFrame`), which is the bar the issue sets.
 *
 * With `BENCH_REDIS_URL` set (`--cluster`'s Socket.IO variants), it runs on the Socket.IO Redis
 * adapter (@socket.io/redis-adapter, ioredis clients): one PUBLISH per broadcast, which every
 * process (itself included) receives and delivers to its own sockets in the room. With
 * `BENCH_REDIS_CLUSTER_URLS` instead (`--cluster`'s (h)), it runs on the sharded adapter
 * (`createShardedAdapter`, ioredis Cluster clients): one SPUBLISH per broadcast on the room's own
 * channel, which only the processes holding the room have SSUBSCRIBEd.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis, type Cluster } from 'ioredis';
import { Server } from 'socket.io';
import { benchRoomId } from '../contracts.js';
import { runBenchServer } from './harness.js';
import { clusterClient } from '../cluster/cluster-client.js';
import { jwtVerify } from 'jose';
import { benchAuthSecret } from './bench-limits.js';

/** `socketio-jwt` (bench/contracts): verify each connection's token as our server does. */
const verifyTokens = process.env.BENCH_SOCKETIO_JWT === '1';

await runBenchServer(async () => {
  const httpServer = createServer();
  const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  const redisUrl = process.env.BENCH_REDIS_URL;
  const clusterSeeds = process.env.BENCH_REDIS_CLUSTER_URLS;
  const prefix = process.env.BENCH_REDIS_PREFIX || 'socket.io';
  const redisClients: Array<Redis | Cluster> = [];
  if (clusterSeeds) {
    const [publisher, subscriber] = [clusterClient(clusterSeeds), clusterClient(clusterSeeds, { subscriber: true })];
    redisClients.push(publisher, subscriber);
    io.adapter(createShardedAdapter(publisher, subscriber, { channelPrefix: prefix }));
  } else if (redisUrl) {
    const [publisher, subscriber] = [new Redis(redisUrl), new Redis(redisUrl)];
    redisClients.push(publisher, subscriber);
    io.adapter(createAdapter(publisher, subscriber, { key: prefix }));
  }
  let sequence = 0;
  if (verifyTokens) {
    // Our server's check (server/api/auth.ts): HS256 through jose, with a CryptoKey imported once.
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(benchAuthSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    io.use((socket, next) => {
      const { token, role } = socket.handshake.auth as { token?: string; role?: string };
      if (role === 'publisher') return next();
      jwtVerify(token ?? '', key, { algorithms: ['HS256'] }).then(
        ({ payload }) => {
          socket.data.userId = payload.sub;
          next();
        },
        () => next(new Error('unauthorized')),
      );
    });
  }

  io.on('connection', (socket) => {
    if ((socket.handshake.auth as { role?: string }).role === 'publisher') {
      socket.on('publish', (message: { type: string; data: unknown }) => {
        const event = { id: String(++sequence), type: message.type, data: message.data, timestamp: new Date(), roomId: benchRoomId, senderId: 'bench-admin' };
        io.to(benchRoomId).emit('event', event);
      });
      return;
    }
    void socket.join(benchRoomId);
    // `--cursors`: each member's moves to the whole room as volatile emits (dropped when a
    // socket is not writable), the sender included, as our onRoom delivers a member's own events.
    socket.on('cursor', (data: { x: number; y: number }) => {
      io.volatile.to(benchRoomId).emit('event', { type: 'cursor.moved', data, timestamp: new Date(), roomId: benchRoomId, senderId: socket.id });
    });
    socket.emit('ready');
  });

  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    target: {
      kind: verifyTokens ? 'socketio-jwt' : 'socketio',
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
      ...(verifyTokens && { userTokenSecret: benchAuthSecret }),
    },
    connectionCount: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      for (const client of redisClients) client.disconnect();
    },
  };
});
