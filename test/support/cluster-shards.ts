/**
 * Where a channel lives in a Redis Cluster deployment: its partition (the service's own
 * ClusterPartitions, as the processes compute it) and the master that serves that partition's
 * slot (asked of the cluster itself, CLUSTER KEYSLOT + CLUSTER SLOTS). Tests use it to pick rooms
 * and users on the shard they need, instead of hoping that a name lands somewhere.
 */
import { ClusterPartitions, partitionKey } from '../../server/bus/cluster-partitions.js';
import type { TestRedisCluster } from './redis-cluster.js';

export interface ChannelShards {
  readonly partitions: ClusterPartitions;
  partitionOf(channel: string): number;
  /** `host:port` of the master holding the channel's partition. */
  shardOf(channel: string): Promise<string>;
  /**
   * The first name `make(0)`, `make(1)`, ... whose channel `channelOf(name)` is on `node` and
   * passes `accept` (at most 1,000 tried).
   */
  nameOnShard(node: string, make: (index: number) => string, channelOf: (name: string) => string, accept?: (name: string) => boolean): Promise<string>;
}

export function channelShards(cluster: TestRedisCluster, prefix: string, partitionCount: number): ChannelShards {
  const partitions = new ClusterPartitions(partitionCount);
  // Cached: the fixture's cluster has no replicas, so a slot never changes master (a stopped
  // shard comes back with its own slots), and asking opens a connection each time.
  const owners = new Map<number, Promise<string>>();
  const nodeOfPartition = (partition: number) => {
    let owner = owners.get(partition);
    if (!owner) owners.set(partition, (owner = cluster.nodeOfKey(partitionKey(prefix, partitions, partition))));
    return owner;
  };
  return {
    partitions,
    partitionOf: (channel) => partitions.partitionOf(channel),
    shardOf: (channel) => nodeOfPartition(partitions.partitionOf(channel)),
    async nameOnShard(node, make, channelOf, accept = () => true) {
      for (let index = 0; index < 1_000; index++) {
        const name = make(index);
        if (accept(name) && (await nodeOfPartition(partitions.partitionOf(channelOf(name)))) === node) return name;
      }
      throw new Error(`no name of ${make(0)}'s form has its partition on ${node} in 1,000 tries`);
    },
  };
}
