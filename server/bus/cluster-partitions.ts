/**
 * How a Redis Cluster deployment spreads channels: over a fixed number of partitions, as
 * Centrifugo's sharded PUB/SUB does, not one shard channel per room. Each partition is a hash tag
 * whose slot is chosen so that the partitions fall evenly over the 16,384 slots (so a cluster
 * made with `redis-cli --cluster create`, which splits slots evenly, gives each master the same
 * number of partitions). A partition has its own streams, epoch and sequence, and one shard
 * channel that every process SSUBSCRIBEs to: a process subscribes to P channels whatever the
 * number of rooms, and an event is one SPUBLISH on its partition's shard.
 *
 * Membership state is split by its natural key (cluster/redis-membership): a user's connections
 * and presence in the partition of `user:<id>`, a room's members, holds and typing in the
 * partition of `room:<id>`, and a room's membership channel `room-members:<id>` in that same
 * partition, so a room subscriber's resume cursor names one partition. The operators' `presence`
 * channel is spread: each user's presence goes to it in the user's partition, so hearing it means
 * hearing every partition.
 */
import calculateSlot from 'cluster-key-slot';
import { channels as channelNames, roomChannelPrefix, roomMembersChannelPrefix } from './channels.js';

export const clusterPartitionDefaults = { count: 12 } as const;

const slotCount = 16_384;

export class ClusterPartitions {
  /** Each partition's hash tag (without braces). */
  private readonly tags: string[];

  constructor(readonly count: number = clusterPartitionDefaults.count) {
    // At most 64: a resume cursor names every partition a subscription hears (shared/limits).
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`partitions must be 1 to 64, not ${count}`);
    this.tags = Array.from({ length: count }, (_, partition) => evenTag(partition, count));
  }

  /**
   * The partition a channel's stream, sequence and shard channel live in (for a spread channel:
   * where TypeScript would publish to it; its events come from every partition).
   */
  partitionOf(channel: string): number {
    if (channel.startsWith(roomMembersChannelPrefix)) return this.partitionOf(roomChannelPrefix + channel.slice(roomMembersChannelPrefix.length));
    return calculateSlot(channel) % this.count;
  }

  /** A channel published to in every partition (by each user's partition): hearing or reading it spans them all. */
  isSpread(channel: string): boolean {
    return channel === channelNames.presence;
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
