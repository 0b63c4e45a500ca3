/**
 * Rate limits shared by every process without a round trip per call (issue 20): a process takes
 * tokens from the shared bucket in leases of up to `leaseSize` and spends them locally, so the
 * shared store is asked once per lease, not once per call. A key found empty is remembered until
 * the wait it was given has passed, so a flooding caller costs a map lookup, not a round trip.
 *
 * The bound: tokens are taken from the shared bucket before they are spent, and a lease is spent
 * within `leaseMs` or dropped. In any interval the calls allowed across P processes are therefore
 * at most what the shared bucket granted in that interval plus the leases the processes held when
 * it began: an overshoot of at most P × leaseSize calls over the shared rule. Tokens of a lease
 * that expires unspent are lost (an undershoot of at most one lease per process and `leaseMs`).
 *
 * rate-limiter-flexible (which counts in memory for one process) has no partial grant: its
 * consume(key, n) takes all n or none and still counts a refused n, so leases on top of it would
 * charge a caller for calls it never made. The store here grants what is there, up to n.
 */
import type { RateLimitCounters } from './backend.js';

/** The shared bucket: takes up to `wanted` tokens of `key`; when it grants none, how long until one is back. */
export interface TokenLeaseStore {
  lease(key: string, wanted: number): Promise<{ granted: number; waitMs: number }>;
}

export interface LeasedRateLimitOptions {
  /** Tokens taken per round trip; the overshoot bound is P × leaseSize. */
  leaseSize: number;
  /** A lease not spent within this long is dropped. @default 1000 */
  leaseMs?: number;
  /** Keys remembered at once; the oldest is forgotten past it (it only costs a round trip). @default 10000 */
  maxKeys?: number;
  /** Where calls are counted while the shared store is unreachable (per process, as before Redis). */
  fallback: RateLimitCounters;
  onError: (error: unknown, context: string) => void;
}

/** Tokens to spend until a time, or (`emptyUntil`) a key the shared bucket had none for, until then. */
type Lease = { tokens: number; until: number } | { emptyUntil: number };

export class LeasedRateLimitCounters implements RateLimitCounters {
  private readonly leases = new Map<string, Lease>();
  /** One lease request per key in flight; callers arriving meanwhile wait for it. */
  private readonly requests = new Map<string, Promise<void>>();
  private readonly leaseMs: number;
  private readonly maxKeys: number;
  /** After a failed lease the store is left alone this long (the fallback counts), so an outage is one log line, not one per call. */
  private storeDownUntil = 0;

  constructor(
    private readonly store: TokenLeaseStore,
    private readonly options: LeasedRateLimitOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 1_000;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  async consume(key: string): Promise<number> {
    if (this.storeDownUntil > Date.now()) return this.options.fallback.consume(key);
    // Callers that waited for a lease someone else asked for may find it spent, and ask again:
    // every round either grants someone a token or finds the key empty, so this ends.
    for (let round = 0; round < 1_000; round++) {
      const now = Date.now();
      const lease = this.leases.get(key);
      if (lease && 'emptyUntil' in lease) {
        if (lease.emptyUntil > now) return lease.emptyUntil - now;
      } else if (lease && lease.tokens > 0 && lease.until > now) {
        lease.tokens--;
        return 0;
      }
      let request = this.requests.get(key);
      if (!request) {
        request = this.takeLease(key).finally(() => this.requests.delete(key));
        this.requests.set(key, request);
      }
      const fellBack = await request.then(
        () => false,
        () => true,
      );
      if (fellBack) return this.options.fallback.consume(key);
    }
    return 1;
  }

  private async takeLease(key: string): Promise<void> {
    let answer: { granted: number; waitMs: number };
    try {
      answer = await this.store.lease(key, this.options.leaseSize);
    } catch (error) {
      this.storeDownUntil = Date.now() + 1_000;
      this.options.onError(error, 'leasing rate-limit tokens (counting in this process meanwhile)');
      throw error;
    }
    const now = Date.now();
    this.leases.delete(key);
    if (this.leases.size >= this.maxKeys) this.leases.delete(this.leases.keys().next().value!);
    this.leases.set(key, answer.granted > 0 ? { tokens: answer.granted, until: now + this.leaseMs } : { emptyUntil: now + Math.max(1, answer.waitMs) });
  }
}
