/**
 * Rate limits on incoming calls: a steady rate per second plus a burst allowance, keyed per user
 * over every transport (more sockets buy no more calls), counted by the backend's counters (per
 * process in memory, across processes with Redis). A WebSocket call is charged before it is
 * decoded; a rejected call costs a map lookup, so a flooding client cannot delay anyone else's
 * events.
 */
import type { RateLimitCounters } from '../cluster/backend.js';

export class RateLimits {
  private rejectedCount = 0;

  constructor(private readonly counters: RateLimitCounters) {}

  /** Total calls rejected since start (exported as a metric). */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Resolves to the milliseconds to wait before retrying, or 0 when the call may proceed. */
  async consume(key: string): Promise<number> {
    const waitMs = await this.counters.consume(key);
    if (waitMs > 0) this.rejectedCount++;
    return waitMs;
  }
}
