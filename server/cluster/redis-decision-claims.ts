/** The first process to claim an action's outcome wins (`SET NX`); the claim outlives any expiry. */
import type { Redis } from 'ioredis';
import { RealtimeError } from '../core/errors.js';
import type { DecisionClaims } from '../core/governance.js';

export class RedisDecisionClaims implements DecisionClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** @default 8 days: longer than the longest expiry an action may have */
    private readonly keepSeconds = 8 * 24 * 3_600,
  ) {}

  async claim(actionId: string): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}:decided:${actionId}`, '1', 'EX', this.keepSeconds, 'NX')) === 'OK';
    } catch (cause) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', 'The cluster state (Redis) is unavailable; the decision was not recorded', { cause });
    }
  }
}
