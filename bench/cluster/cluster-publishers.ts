/**
 * The publishers of `--publish-cost` that run on a Redis Cluster (issue 20): ours with
 * REDIS_CLUSTER_URLS, and Socket.IO's sharded adapter (`createShardedAdapter`, Redis 7 sharded
 * pub/sub: one SPUBLISH per broadcast on the room's own channel in its default "dynamic" mode),
 * each with a subscriber that receives every event, as the one-Redis publishers have.
 */
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { ClusterBus } from '../../server/bus/cluster-bus.js';
import { redisRateLimitCounters } from '../../server/cluster/rate-limit-counters.js';
import { clusterClient } from './cluster-client.js';
import type { Publisher } from './publish-cost.js';

/**
 * The service's ClusterBus and its leased rate limits on the cluster's keys (`consume` then
 * `publish`, as the router does), as createRedisClusterBackend builds them; its own SSUBSCRIBE
 * to every partition receives each event.
 */
export async function oursClusterPublisher(
  seeds: string,
  prefix: string,
  rule: { perSecond: number; burst: number },
  publishOne: (bus: ClusterBus, index: number) => Promise<unknown>,
): Promise<Publisher> {
  const bus = new ClusterBus({ nodes: seeds.split(','), prefix, onError: () => {} });
  await bus.start();
  // As redis-backend does: each lease names one key, which the Cluster client routes to its node.
  const limits = redisRateLimitCounters(rule, bus.keys as unknown as Redis, prefix, () => {});
  return {
    async publish(index) {
      await limits.consume('user:bench-admin');
      return publishOne(bus, index);
    },
    close: () => bus.close(),
  };
}

/**
 * `io.to(room).emit` is fire-and-forget and its SPUBLISH goes to the room channel's shard: each
 * publish waits until the adapter's own subscriber has received it, so as many are in flight as
 * for the other publishers. The adapter subscribes to a room's channel when the room exists
 * locally: a member id is added to it (no socket behind it, so nothing is written anywhere).
 */
export async function shardedSocketIoPublisher(seeds: string, prefix: string, roomId: string, dataOf: (index: number) => unknown): Promise<Publisher> {
  const publisher = clusterClient(seeds);
  const subscriber = clusterClient(seeds, { subscriber: true });
  const io = new Server();
  io.adapter(createShardedAdapter(publisher, subscriber, { channelPrefix: prefix }));
  // Each message is heard by its event id (the adapter encodes a broadcast as JSON; the event is
  // the packet's second element), so a probe can tell when the room's SSUBSCRIBE has taken.
  const waiting = new Map<string, () => void>();
  subscriber.on('smessageBuffer', (_channel: Buffer, message: Buffer) => {
    const id = (JSON.parse(message.toString()) as { data?: { packet?: { data?: [string, { id?: string }] } } }).data?.packet?.data?.[1]?.id;
    if (id === undefined) return;
    waiting.get(id)?.();
    waiting.delete(id);
  });
  const emit = (id: string, data: unknown) => {
    const heard = new Promise<void>((resolve) => waiting.set(id, resolve));
    io.to(roomId).emit('event', { id, type: 'sphere.updated', data, timestamp: new Date(), roomId });
    return heard;
  };
  io.of('/').adapter.addAll('bench-member', new Set([roomId]));
  for (let probe = 0; ; probe++) {
    const timedOut = await Promise.race([emit(`probe-${probe}`, {}).then(() => false), new Promise((resolve) => setTimeout(resolve, 100, true))]);
    if (!timedOut) break;
    if (probe === 50) throw new Error('the sharded adapter never heard its own broadcast (SSUBSCRIBE of the room channel)');
  }
  return {
    publish: (index) => emit(String(index), dataOf(index)),
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
