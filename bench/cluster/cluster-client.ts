/**
 * An ioredis Cluster client from a seed list (`host:port,host:port`), for the bench's Socket.IO
 * sharded adapter. `shardedSubscribers`: ioredis 5.11 then keeps a subscriber connection per
 * shard, so SSUBSCRIBE goes to the node of the channel's slot (without it, SPUBLISH counts the
 * subscriber but its messages never reach 'smessage'; see test/redis/redis-cluster.test.ts).
 */
import { Cluster } from 'ioredis';

export function clusterClient(seeds: string, options: { subscriber?: boolean } = {}): Cluster {
  const nodes = seeds.split(',').map((seed) => {
    const [host, port] = seed.trim().replace(/^redis:\/\//, '').split(':');
    return { host: host!, port: Number(port) };
  });
  const client = new Cluster(nodes, { shardedSubscribers: options.subscriber ?? false, redisOptions: { maxRetriesPerRequest: 1 } });
  client.on('error', (error: unknown) => console.error('[bench redis cluster client]', error));
  return client;
}
