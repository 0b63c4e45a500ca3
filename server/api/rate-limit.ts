/**
 * Rate limits on incoming calls (rate-limiter-flexible): a steady rate per second plus a burst
 * allowance, keyed per WebSocket connection, or per user over HTTP. A rejected call costs a map
 * lookup, so a flooding client cannot delay anyone else's events.
 */
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface RateLimitOptions {
  /** Calls per second, steady. @default 50 */
  perSecond: number;
  /** Extra calls allowed in a burst, refilled over ten seconds. @default 100 */
  burst: number;
}

export class RateLimits {
  private readonly limiter: BurstyRateLimiter;
  private rejectedCount = 0;

  constructor(options: RateLimitOptions) {
    this.limiter = new BurstyRateLimiter(
      new RateLimiterMemory({ keyPrefix: 'steady', points: options.perSecond, duration: 1 }),
      new RateLimiterMemory({ keyPrefix: 'burst', points: options.burst, duration: 10 }),
    );
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
