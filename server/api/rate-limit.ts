/**
 * Rate limits on incoming calls (rate-limiter-flexible): a steady rate per second plus a burst
 * allowance, keyed per user over every transport (more sockets buy no more calls). A WebSocket
 * call is charged before it is decoded; a rejected call costs a map lookup, so a flooding client
 * cannot delay anyone else's events.
 */
import type { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitOptions {
  /** Calls per second, steady. @default 50 */
  perSecond: number;
  /** Extra calls allowed in a burst, refilled over ten seconds. @default 100 */
  burst: number;
  /**
   * With Redis, limits count across every process (per user, whichever process the calls reach).
   * While Redis is unreachable each process falls back to counting in memory.
   */
  redis?: { client: Redis; prefix: string };
}

export class RateLimits {
  private readonly limiter: BurstyRateLimiter;
  private rejectedCount = 0;

  constructor(options: RateLimitOptions) {
    const steady = { keyPrefix: 'steady', points: options.perSecond, duration: 1 };
    const burst = { keyPrefix: 'burst', points: options.burst, duration: 10 };
    const { redis } = options;
    this.limiter = redis
      ? new BurstyRateLimiter(
          new RateLimiterRedis({ ...steady, keyPrefix: `${redis.prefix}:rl:steady`, storeClient: redis.client, insuranceLimiter: new RateLimiterMemory(steady) }),
          new RateLimiterRedis({ ...burst, keyPrefix: `${redis.prefix}:rl:burst`, storeClient: redis.client, insuranceLimiter: new RateLimiterMemory(burst) }),
        )
      : new BurstyRateLimiter(new RateLimiterMemory(steady), new RateLimiterMemory(burst));
  }

  /** Total calls rejected since start (exported as a metric). */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Resolves to the milliseconds to wait before retrying, or 0 when the call may proceed. */
  async consume(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        this.rejectedCount++;
        return Math.max(1, rejection.msBeforeNext);
      }
      throw rejection;
    }
  }
}
