/** Where a Redis Cluster's slots are served, read once at start (bus/cluster-bus). */
import { Redis } from 'ioredis';

export function hostAndPort(node: string): [string, number] {
  const address = node.replace(/^rediss?:\/\//, '').replace(/\/.*$/, '');
  const colon = address.lastIndexOf(':');
  return colon === -1 ? [address, 6379] : [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** `CLUSTER SLOTS` from the first seed that answers: [first slot, last slot, master `host:port`]. */
export async function readSlotOwners(seeds: readonly string[]): Promise<Array<[number, number, string]>> {
  let lastError: unknown;
  for (const seed of seeds) {
    const [host, port] = hostAndPort(seed);
    const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
      return ranges.map(([low, high, [masterHost, masterPort]]) => [low, high, `${masterHost === '' ? host : masterHost}:${masterPort}`]);
    } catch (error) {
      lastError = error;
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no node of the Redis Cluster answered (${seeds.join(', ')})`, { cause: lastError });
}
