/**
 * Everything that makes many processes one service, built from one Redis URL: the bus, the
 * cluster-wide rooms and presence, claim-once, idempotency keys and rate-limit counters.
 */
import { RedisBus } from '../bus/redis-bus.js';
import { membershipDefaults } from '../core/membership-state.js';
import type { Backend, BackendOptions } from './backend.js';
import { RedisClaimOnce } from './redis-claims.js';
import { RedisIdempotencyStore } from './redis-idempotency.js';
import { RedisMembership } from './redis-membership.js';
import { redisRateLimitCounters } from './rate-limit-counters.js';

export interface RedisBackendOptions extends BackendOptions {
  url: string;
  /** Namespace of every key, so several services can share one Redis. @default 'rt' */
  prefix?: string;
  /** A process silent this long is presumed dead and reaped. @default 15000 */
  deadAfterMs?: number;
}

export function createRedisBackend(options: RedisBackendOptions): Backend {
  const { onError } = options;
  const bus = new RedisBus({
    url: options.url,
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    ...(options.historyPerChannel !== undefined && { historyPerChannel: options.historyPerChannel }),
    ...(options.historyGlobal !== undefined && { globalHistory: options.historyGlobal }),
    onError,
  });
  let processStats: () => Record<string, number> = () => ({});
  const membership = new RedisMembership({
    bus,
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
    decisionClaims: new RedisClaimOnce(bus.redis, bus.prefix),
    idempotency: new RedisIdempotencyStore({
      redis: bus.redis,
      prefix: bus.prefix,
      ...(options.idempotencyWindowMs !== undefined && { windowMs: options.idempotencyWindowMs }),
    }),
    rateLimits: redisRateLimitCounters(options.rateLimit, bus.redis, bus.prefix, onError),
    reportProcessStats: (source) => (processStats = source),
  };
}
