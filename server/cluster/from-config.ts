/** Chooses how this process runs: embedded (in memory) by default, one of many with REDIS_URL. */
import type { ServerConfig } from '../config.js';
import type { Backend } from './backend.js';
import { createMemoryBackend } from './memory-backend.js';
import { createRedisBackend, createRedisClusterBackend } from './redis-backend.js';

export function backendFromConfig(config: ServerConfig, onError: (error: unknown, context: string) => void): Backend {
  const common = {
    historyPerChannel: config.historyPerChannel,
    historyGlobal: config.historyGlobal,
    idleAfterMs: config.idleAfterMs,
    typingExpireMs: config.typingExpireMs,
    idempotencyWindowMs: config.idempotencyWindowMs,
    rateLimit: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
    onError,
  };
  if (config.redisClusterNodes.length > 0) {
    return createRedisClusterBackend({
      ...common,
      nodes: config.redisClusterNodes,
      partitions: config.redisClusterPartitions,
      prefix: config.redisPrefix,
      deadAfterMs: config.clusterDeadAfterMs,
    });
  }
  if (config.redisUrl) {
    return createRedisBackend({ ...common, url: config.redisUrl, prefix: config.redisPrefix, deadAfterMs: config.clusterDeadAfterMs });
  }
  return createMemoryBackend({ ...common, historyBytesPerChannel: config.historyBytesPerChannel, historyBytesTotal: config.historyBytesTotal, historyGlobalMembership: config.historyGlobalMembership });
}
