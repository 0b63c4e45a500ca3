/** How a RedisBus is made: its options, its connections', and what a part of a multi-partition event carries. */
import type { Redis, RedisOptions } from 'ioredis';
import type { ScriptDialect } from './redis-scripts.js';

export interface RedisBusOptions {
  url: string;
  /** Namespace of every key, so several services can share one Redis. @default 'rt' */
  prefix?: string;
  /** @default 1000 */
  historyPerChannel?: number;
  /** @default 10000 */
  globalHistory?: number;
  /** A channel's history is dropped after this long without a new event. @default 86400 (a day) */
  historyTtlSeconds?: number;
  onError?: (error: unknown, context: string) => void;
  /**
   * One partition of a Redis Cluster (bus/cluster-bus): connections to the partition's node,
   * shared with the node's other partitions, so neither connected nor closed here.
   */
  shared?: { commands: Redis; subscriber: Redis; dialect: ScriptDialect };
}

/** One part of an event published to several partitions of a cluster: every part carries the event's one id. */
export interface EventPart {
  eventId?: string;
  parts: number;
  /** What the channels' streams keep instead of the event's data (a presence part without its metadata, see publishFunction). */
  storedData?: unknown;
}

/**
 * A bus connection's options. No offline queue on the commands connection: while Redis is away, a
 * publish fails at once with a clear error rather than waiting in a queue that could grow without
 * bound. Resubscription is ours (see resubscribe), so that readiness waits for the catch-up.
 */
export function redisConnectionOptions(role: 'commands' | 'subscriber'): RedisOptions {
  const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000) };
  return role === 'commands' ? { ...common, enableOfflineQueue: false } : { ...common, enableOfflineQueue: true, autoResubscribe: false };
}
