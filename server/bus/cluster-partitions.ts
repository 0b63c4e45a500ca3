/**
 * How a Redis Cluster deployment spreads channels: over a fixed number of partitions, as
 * Centrifugo's sharded PUB/SUB does, not one shard channel per room. Each partition is a hash tag
 * whose slot is chosen so that the partitions fall evenly over the 16,384 slots (so a cluster
 * made with `redis-cli --cluster create`, which splits slots evenly, gives each master the same
 * number of partitions). A partition has its own streams, epoch and sequence, and one shard
 * channel that every process SSUBSCRIBEs to: a process subscribes to P channels whatever the
 * number of rooms, and an event is one SPUBLISH on its partition's shard.
 *
 * Membership (rooms, presence, typing: the `room-members:` and `presence` channels and the state
 * behind them) lives in partition 0 for now: its scripts change several users' and rooms' keys in
 * one atomic step (cluster/cluster-scripts), which needs one slot.
 */
import calculateSlot from 'cluster-key-slot';
import { channels as channelNames, roomMembersChannelPrefix } from './channels.js';

export const clusterPartitionDefaults = { count: 12 } as const;

const slotCount = 16_384;

/** The partition whose slot holds membership state. */
export const membershipPartition = 0;

export class ClusterPartitions {
  /** Each partition's hash tag (without braces). */
  private readonly tags: string[];

  constructor(readonly count: number = clusterPartitionDefaults.count) {
    // At most 64: a resume cursor names every partition a subscription hears (shared/limits).
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`partitions must be 1 to 64, not ${count}`);
    this.tags = Array.from({ length: count }, (_, partition) => evenTag(partition, count));
  }

  /** The partition a channel's stream, sequence and shard channel live in. */
  partitionOf(channel: string): number {
    if (channel.startsWith(roomMembersChannelPrefix) || channel === channelNames.presence) return membershipPartition;
    return calculateSlot(channel) % this.count;
  }

  /** The key prefix of a partition: every key under it is in the partition's slot. */
  prefixOf(prefix: string, partition: number): string {
    return `${prefix}:{${this.tags[partition]!}}`;
  }

  /** What a partition's epochs end with, so that event ids of different partitions never collide. */
  epochSuffix(partition: number): string {
    return `p${partition}`;
  }

  /** The partition an event id (or position) belongs to, from its epoch's suffix; undefined for an id of no partition. */
  partitionOfId(id: string): number | undefined {
    const match = /p(\d+)-\d+(?:\.[^-]*)?$/.exec(id);
    if (!match) return undefined;
    const partition = Number(match[1]);
    return partition < this.count ? partition : undefined;
  }
}

/** A key in a partition's slot (its epoch key), to find which node holds the partition. */
export function partitionKey(prefix: string, partitions: ClusterPartitions, partition: number): string {
  return `${partitions.prefixOf(prefix, partition)}:epoch`;
}

/** The first tag `p<partition>.<n>` whose slot falls in the partition's even share of the slots. */
function evenTag(partition: number, count: number): string {
  const low = Math.floor((partition * slotCount) / count);
  const high = Math.floor(((partition + 1) * slotCount) / count);
  for (let attempt = 0; attempt < 1_000_000; attempt++) {
    const tag = `p${partition}.${attempt}`;
    const slot = calculateSlot(tag);
    if (slot >= low && slot < high) return tag;
  }
  throw new Error(`no hash tag found for partition ${partition} of ${count}`);
}
