/** Chooses the bus from configuration: Redis when REDIS_URL is set, the embedded bus otherwise. */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { EventBus } from './bus.js';
import { MemoryBus } from './memory-bus.js';

export async function createBusFromConfig(config: ServerConfig, logger: Logger): Promise<EventBus> {
  if (config.redisUrl) {
    logger.error('REDIS_URL is set, but the Redis bus is not part of this build yet; refusing to run as a single process silently.');
    throw new Error('REDIS_URL is not supported yet (see issue: scale out over Redis)');
  }
  return new MemoryBus({ historyPerChannel: config.historyPerChannel, globalHistory: config.historyGlobal });
}
