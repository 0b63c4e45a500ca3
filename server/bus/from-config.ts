/** Chooses how this process runs: embedded (in memory) by default, one of many with REDIS_URL. */
import type { ServerConfig } from '../config.js';
import { createRedisCluster } from '../cluster/redis-cluster.js';
import type { RealtimeServerCluster } from '../http/server.js';

export function clusterFromConfig(
  config: ServerConfig,
  onError: (error: unknown, context: string) => void,
): RealtimeServerCluster | undefined {
  return config.redisUrl ? createRedisCluster({ url: config.redisUrl, config, onError }) : undefined;
}
