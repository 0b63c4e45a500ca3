/** The first process to claim a key wins (`SET NX`); the claim outlives any expiry. */
import type { Redis } from 'ioredis';
import { RealtimeError } from '../errors.js';
import type { ClaimOnce } from './backend.js';

export class RedisClaimOnce implements ClaimOnce {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** @default 8 days: longer than the longest expiry an action may have */
    private readonly keepSeconds = 8 * 24 * 3_600,
  ) {}

  async claim(key: string): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}:decided:${key}`, '1', 'EX', this.keepSeconds, 'NX')) === 'OK';
    } catch (cause) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', 'The cluster state (Redis) is unavailable; the decision was not recorded', { cause });
    }
  }
}
