/**
 * The Redis bus's resume gap check (server/bus/redis-history.ts) on plain values: when a stream's
 * counters prove nothing after the resume point was lost, and when they cannot (then it is a gap,
 * never a silent skip).
 */
import { describe, expect, it } from 'vitest';
import { streamGap } from '../../server/bus/redis-history.js';

const ttlMs = 86_400_000;
const now = 1_800_000_000_000;
/** The sequence of the first event stamped `msAgo` before now (ms × 1000 + n). */
const sequenceAt = (msAgo: number) => (now - msAgo) * 1000;
const oldEpoch = 0;

describe('the resume gap check', () => {
  it('is complete while the stream holds an entry at or before the resume point', () => {
    expect(streamGap({ oldestSequence: sequenceAt(5_000), trimmed: true }, sequenceAt(4_000), oldEpoch, ttlMs, now)).toBe(false);
    expect(streamGap({ oldestSequence: sequenceAt(5_000), trimmed: true }, sequenceAt(5_000), oldEpoch, ttlMs, now)).toBe(false);
  });

  it('is a gap when a trimmed stream starts after the resume point', () => {
    expect(streamGap({ oldestSequence: sequenceAt(1_000), trimmed: true }, sequenceAt(5_000), oldEpoch, ttlMs, now)).toBe(true);
  });

  it('is complete for an untrimmed or missing stream when the resume point is younger than the TTL (nothing could have expired after it)', () => {
    expect(streamGap({ oldestSequence: sequenceAt(1_000), trimmed: false }, sequenceAt(5_000), oldEpoch, ttlMs, now)).toBe(false);
    expect(streamGap(undefined, sequenceAt(5_000), oldEpoch, ttlMs, now)).toBe(false);
  });

  it('is a gap for an untrimmed or missing stream when the resume point is older than the TTL, unless the epoch is younger', () => {
    const old = sequenceAt(ttlMs + 60_000);
    expect(streamGap({ oldestSequence: sequenceAt(1_000), trimmed: false }, old, oldEpoch, ttlMs, now)).toBe(true);
    expect(streamGap(undefined, old, oldEpoch, ttlMs, now)).toBe(true);
    // An epoch that began an hour ago: nothing of it can have expired yet.
    expect(streamGap(undefined, 1, now - 3_600_000, ttlMs, now)).toBe(false);
  });
});
