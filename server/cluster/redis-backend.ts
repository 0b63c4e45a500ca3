/**
 * Everything that makes many processes one service, built from one Redis URL, or from the seed
 * nodes of a Redis Cluster: the bus, the cluster-wide rooms and presence, claim-once,
 * idempotency keys and rate-limit counters.
 */
import type { Redis } from 'ioredis';
import { ClusterBus } from '../bus/cluster-bus.js';
import { RedisBus } from '../bus/redis-bus.js';
import { membershipDefaults } from '../core/membership-state.js';
import type { Backend, BackendOptions } from './backend.js';
import { RedisClaimOnce } from './redis-claims.js';
import { RedisIdempotencyStore } from './redis-idempotency.js';
import { clusterBuses, oneBus, type MembershipBuses } from './membership-buses.js';
import { RedisMembership } from './redis-membership.js';
import { redisRateLimitCounters } from './rate-limit-counters.js';

export interface RedisBackendOptions extends BackendOptions {
  url: string;
  /** Namespace of every key, so several services can share one Redis. @default 'rt' */
  prefix?: string;
  /** A process silent this long is presumed dead and reaped. @default 15000 */
  deadAfterMs?: number;
}

export interface RedisClusterBackendOptions extends Omit<RedisBackendOptions, 'url'> {
  /** Seed nodes of the Redis Cluster. */
  nodes: readonly string[];
  /** @default 12 */
  partitions?: number;
}

export function createRedisBackend(options: RedisBackendOptions): Backend {
  const bus = new RedisBus({
    url: options.url,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    ...(options.historyPerChannel !== undefined && { historyPerChannel: options.historyPerChannel }),
    ...(options.historyGlobal !== undefined && { globalHistory: options.historyGlobal }),
    onError: options.onError,
  });
  return assemble(bus, oneBus(bus), bus.redis, bus.prefix, options);
}

/**
 * On a Redis Cluster: the partitioned bus; membership state in its partitions, each user's in the
 * user's and each room's in the room's (cluster/redis-membership); claims, idempotency keys and
 * rate-limit leases each on the node of its own key, through a Cluster client.
 */
export function createRedisClusterBackend(options: RedisClusterBackendOptions): Backend {
  const bus = new ClusterBus({
    nodes: options.nodes,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    ...(options.partitions !== undefined && { partitions: options.partitions }),
    ...(options.historyPerChannel !== undefined && { historyPerChannel: options.historyPerChannel }),
    ...(options.historyGlobal !== undefined && { globalHistory: options.historyGlobal }),
    onError: options.onError,
  });
  // Each call of these names one key, which the Cluster client routes to its node; their types
  // are the single-Redis client's, whose command methods the Cluster client shares.
  return assemble(bus, clusterBuses(bus), bus.keys as unknown as Redis, bus.prefix, options);
}

function assemble(
  bus: RedisBus | ClusterBus,
  membershipBuses: MembershipBuses,
  keys: Redis,
  prefix: string,
  options: Omit<RedisBackendOptions, 'url'>,
): Backend {
  const { onError } = options;
  let processStats: () => Record<string, number> = () => ({});
  const membership = new RedisMembership({
    bus: membershipBuses,
    ...(options.deadAfterMs !== undefined && { deadAfterMs: options.deadAfterMs }),
    idleAfterMs: options.idleAfterMs ?? membershipDefaults.idleAfterMs,
    typingExpireMs: options.typingExpireMs ?? membershipDefaults.typingExpireMs,
    maxRooms: options.maxRooms ?? membershipDefaults.maxRooms,
    maxRoomsPerUser: options.maxRoomsPerUser ?? membershipDefaults.maxRoomsPerUser,
    maxMembersPerRoom: options.maxMembersPerRoom ?? membershipDefaults.maxMembersPerRoom,
    processStats: () => processStats(),
    onError,
  });
  return {
    bus,
    membership,
    decisionClaims: new RedisClaimOnce(keys, prefix),
    idempotency: new RedisIdempotencyStore({
      redis: keys,
      prefix,
      ...(options.idempotencyWindowMs !== undefined && { windowMs: options.idempotencyWindowMs }),
    }),
    rateLimits: redisRateLimitCounters(options.rateLimit, keys, prefix, onError),
    reportProcessStats: (source) => (processStats = source),
  };
}
