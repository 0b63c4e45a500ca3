/**
 * Rate-limit counters (rate-limiter-flexible): a steady rate per second plus a burst allowance,
 * per key. In memory for one process; in Redis so that a user's calls count across every process,
 * falling back to counting in memory while Redis is unreachable.
 */
import type { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitCounters, RateLimitRule } from './backend.js';

class BurstyCounters implements RateLimitCounters {
  constructor(private readonly limiter: BurstyRateLimiter) {}

  async consume(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }
}

const steadyOf = (rule: RateLimitRule) => ({ keyPrefix: 'steady', points: rule.perSecond, duration: 1 });
const burstOf = (rule: RateLimitRule) => ({ keyPrefix: 'burst', points: rule.burst, duration: 10 });

export function memoryRateLimitCounters(rule: RateLimitRule): RateLimitCounters {
  return new BurstyCounters(new BurstyRateLimiter(new RateLimiterMemory(steadyOf(rule)), new RateLimiterMemory(burstOf(rule))));
}

export function redisRateLimitCounters(rule: RateLimitRule, redis: Redis, prefix: string): RateLimitCounters {
  const steady = steadyOf(rule);
  const burst = burstOf(rule);
  return new BurstyCounters(
    new BurstyRateLimiter(
      new RateLimiterRedis({ ...steady, keyPrefix: `${prefix}:rl:steady`, storeClient: redis, insuranceLimiter: new RateLimiterMemory(steady) }),
      new RateLimiterRedis({ ...burst, keyPrefix: `${prefix}:rl:burst`, storeClient: redis, insuranceLimiter: new RateLimiterMemory(burst) }),
    ),
  );
}
