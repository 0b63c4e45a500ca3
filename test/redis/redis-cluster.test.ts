/**
 * The building blocks a Redis Cluster deployment rests on, checked against a real 3-master
 * cluster of the test's own (redis-server 7 in cluster mode, `redis-cli --cluster create`) with
 * ioredis's Cluster client: hash tags keep a room's keys on one shard and spread rooms over all
 * of them; one script appends to a room's stream and SPUBLISHes on the room's shard channel (3
 * commands); sharded pub/sub reaches a subscriber; a stopped shard fails only its own keys, and
 * serves them again when it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { redisClusterAvailable, startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';

const enabled = redisClusterAvailable();
if (!enabled && process.env.CI === 'true') throw new Error('redis-server and redis-cli are needed for the Redis Cluster tests');

const appendAndPublish = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', 1000, '*', 'm', ARGV[1])
return redis.call('SPUBLISH', KEYS[2], ARGV[1])
`;

describe.runIf(enabled)('a real 3-master Redis Cluster', () => {
  let cluster: TestRedisCluster;
  const clients: Cluster[] = [];
  // shardedSubscribers: ioredis 5.11 then keeps a subscriber connection per shard, so SSUBSCRIBE
  // goes to the node of the channel's slot (without it, SPUBLISH counts the subscriber but its
  // messages never reach the client's 'smessage').
  const connect = () => {
    const client = new Cluster(
      cluster.nodes.map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) })),
      { clusterRetryStrategy: () => 200, shardedSubscribers: true, redisOptions: { maxRetriesPerRequest: 1 } },
    );
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.close();
  });

  it('keeps a room’s keys on one shard and spreads rooms over every shard', async () => {
    expect(await cluster.nodeOfKey('rt:h:{room:a}')).toBe(await cluster.nodeOfKey('rt:events:{room:a}'));
    const owners = new Set(await Promise.all(Array.from({ length: 30 }, (_, index) => cluster.nodeOfKey(`rt:h:{room:r${index}}`))));
    expect(owners.size).toBe(3);
  });

  it('appends to a room’s stream and publishes on its shard channel in one script, heard by a sharded subscriber', async () => {
    const publisher = connect();
    const subscriber = connect();
    const heard: string[] = [];
    subscriber.on('smessage', (_channel: string, message: string) => heard.push(message));
    await subscriber.ssubscribe('rt:events:{room:a}');
    const receivers = await publisher.eval(appendAndPublish, 2, 'rt:h:{room:a}', 'rt:events:{room:a}', 'hello');
    expect(receivers).toBe(1);
    await waitFor(() => heard.length === 1, 'the sharded message');
    expect(heard).toEqual(['hello']);
    expect(await publisher.xlen('rt:h:{room:a}')).toBe(1);
  });

  it('fails only the stopped shard’s keys, and serves them again when it returns', async () => {
    const client = connect();
    const down = await cluster.nodeOfKey('rt:h:{room:b}');
    let other = 0;
    while ((await cluster.nodeOfKey(`rt:h:{room:o${other}}`)) === down) other++;
    const otherKey = `rt:h:{room:o${other}}`;
    await client.xadd('rt:h:{room:b}', '*', 'm', 'before');
    await cluster.stop(down);
    await expect(client.xadd('rt:h:{room:b}', '*', 'm', 'while down')).rejects.toThrow();
    expect(await client.xadd(otherKey, '*', 'm', 'elsewhere')).toMatch(/^\d+-\d+$/);
    await cluster.start(down);
    await waitFor(
      async () => (await client.xadd('rt:h:{room:b}', '*', 'm', 'after').catch(() => null)) !== null,
      'the shard back',
      20_000,
    );
  }, 60_000);
});
