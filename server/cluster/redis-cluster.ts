/**
 * Everything that makes many processes one service, built from one Redis URL: the bus, the
 * cluster-wide rooms and presence, idempotency keys and rate-limit counters.
 */
import type { RealtimeServerCluster } from '../http/server.js';
import type { ServerConfig } from '../config.js';
import { RedisBus } from '../bus/redis-bus.js';
import { RedisIdempotencyStore } from './redis-idempotency.js';
import { RedisMembership } from './redis-membership.js';
import { RedisDecisionClaims } from './redis-decision-claims.js';

export interface RedisClusterOptions {
  url: string;
  config: ServerConfig;
  onError: (error: unknown, context: string) => void;
}

export function createRedisCluster(options: RedisClusterOptions): RealtimeServerCluster {
  const { config, onError } = options;
  const bus = new RedisBus({
    url: options.url,
    prefix: config.redisPrefix,
    historyPerChannel: config.historyPerChannel,
    globalHistory: config.historyGlobal,
    onError,
  });
  let processStats: () => Record<string, number> = () => ({});
  const membership = new RedisMembership({
    bus,
    deadAfterMs: config.clusterDeadAfterMs,
    idleAfterMs: config.idleAfterMs,
    typingExpireMs: config.typingExpireMs,
    maxRooms: 10_000,
    maxRoomsPerUser: 100,
    maxMembersPerRoom: 10_000,
    processStats: () => processStats(),
    onError,
  });
  return {
    bus,
    membership,
    idempotency: new RedisIdempotencyStore({ redis: bus.redis, prefix: bus.prefix, windowMs: config.idempotencyWindowMs }),
    rateLimitRedis: { client: bus.redis, prefix: bus.prefix },
    decisionClaims: new RedisDecisionClaims(bus.redis, bus.prefix),
    reportProcessStats: (source) => (processStats = source),
  };
}
