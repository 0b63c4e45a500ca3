/**
 * Leased rate limits with a plain-object store: how often the shared store is asked, what an
 * empty key costs, and what happens while the store is unreachable.
 */
import { describe, expect, it } from 'vitest';
import { LeasedRateLimitCounters, type TokenLeaseStore } from '../../server/cluster/leased-rate-limits.js';
import { memoryRateLimitCounters } from '../../server/cluster/rate-limit-counters.js';

/** A shared bucket of `tokens` that never refills, counting the leases asked of it. */
function countingStore(tokens: number, waitMs = 5_000) {
  const state = { tokens, leases: 0, failing: false };
  const store: TokenLeaseStore = {
    async lease(_key, wanted) {
      state.leases++;
      if (state.failing) throw new Error('store unreachable');
      const granted = Math.min(wanted, state.tokens);
      state.tokens -= granted;
      return { granted, waitMs: granted === 0 ? waitMs : 0 };
    },
  };
  return { store, state };
}

const fallback = () => memoryRateLimitCounters({ perSecond: 2, burst: 0 });

describe('leased rate limits', () => {
  it('asks the shared store once per lease, not once per call', async () => {
    const { store, state } = countingStore(1_000);
    const counters = new LeasedRateLimitCounters(store, { leaseSize: 10, fallback: fallback(), onError: () => {} });
    for (let call = 0; call < 100; call++) expect(await counters.consume('user:ann')).toBe(0);
    expect(state.leases).toBe(10);
  });

  it('shares one lease request among concurrent callers and grants exactly what the store has', async () => {
    const { store, state } = countingStore(25);
    const counters = new LeasedRateLimitCounters(store, { leaseSize: 10, fallback: fallback(), onError: () => {} });
    const waits = await Promise.all(Array.from({ length: 60 }, () => counters.consume('user:bob')));
    expect(waits.filter((wait) => wait === 0)).toHaveLength(25);
    expect(waits.filter((wait) => wait > 0)).toHaveLength(35);
    // 10 + 10 + 5 granted, then one answer "empty": four requests for sixty callers.
    expect(state.leases).toBe(4);
  });

  it('remembers an empty key for the wait it was given: a flood costs no round trip', async () => {
    const { store, state } = countingStore(0, 5_000);
    const counters = new LeasedRateLimitCounters(store, { leaseSize: 10, fallback: fallback(), onError: () => {} });
    expect(await counters.consume('user:cy')).toBeGreaterThan(0);
    for (let call = 0; call < 50; call++) expect(await counters.consume('user:cy')).toBeGreaterThan(0);
    expect(state.leases).toBe(1);
  });

  it('counts in the process while the store is unreachable, reporting it once', async () => {
    const { store, state } = countingStore(1_000);
    state.failing = true;
    const errors: unknown[] = [];
    const counters = new LeasedRateLimitCounters(store, { leaseSize: 10, fallback: fallback(), onError: (error) => errors.push(error) });
    const waits = [];
    for (let call = 0; call < 5; call++) waits.push(await counters.consume('user:dee'));
    expect(waits.slice(0, 2)).toEqual([0, 0]); // the fallback's 2 per second
    expect(waits[2]).toBeGreaterThan(0);
    expect(errors).toHaveLength(1);
    expect(state.leases).toBe(1);
  });

  it('keeps a bounded number of keys', async () => {
    const { store, state } = countingStore(10_000);
    const counters = new LeasedRateLimitCounters(store, { leaseSize: 10, maxKeys: 3, fallback: fallback(), onError: () => {} });
    for (const key of ['a', 'b', 'c', 'd']) await counters.consume(key);
    await counters.consume('d'); // still leased: no request
    expect(state.leases).toBe(4);
    await counters.consume('a'); // forgotten when d came: asked again
    expect(state.leases).toBe(5);
  });
});
