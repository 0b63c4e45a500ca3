import { describe, expect, it } from 'vitest';
import { BoundedLog } from '../../server/bus/bounded-log.js';

const item = (sequence: number) => ({ sequence });

describe('BoundedLog', () => {
  it('keeps at most its capacity, oldest evicted first, and records what it evicted', () => {
    const log = new BoundedLog<{ sequence: number }>(3);
    for (let sequence = 1; sequence <= 5; sequence++) log.append(item(sequence));
    expect(log.size).toBe(3);
    expect(log.after(0).map((entry) => entry.sequence)).toEqual([3, 4, 5]);
    expect(log.evictedThrough).toBe(2);
    expect(log.hasGapAfter(1)).toBe(true);
    expect(log.hasGapAfter(2)).toBe(false);
  });

  it('returns the items after a sequence in order', () => {
    const log = new BoundedLog<{ sequence: number }>(100);
    for (const sequence of [2, 4, 6, 8]) log.append(item(sequence));
    expect(log.after(4).map((entry) => entry.sequence)).toEqual([6, 8]);
    expect(log.after(5).map((entry) => entry.sequence)).toEqual([6, 8]);
    expect(log.after(8)).toEqual([]);
  });

  it('stays bounded over many appends (compaction)', () => {
    const log = new BoundedLog<{ sequence: number }>(10);
    for (let sequence = 1; sequence <= 10_000; sequence++) log.append(item(sequence));
    expect(log.size).toBe(10);
    expect(log.newest(3).map((entry) => entry.sequence)).toEqual([10_000, 9_999, 9_998]);
    expect(log.newest(2, (entry) => entry.sequence % 2 === 1).map((entry) => entry.sequence)).toEqual([9_999, 9_997]);
  });
});

describe('BoundedLog in bytes', () => {
  const sized = (sequence: number, bytes: number) => ({ sequence, bytes });
  it('evicts the oldest past its byte bound, keeps the newest whatever its size, and reports each eviction', () => {
    const evicted: number[] = [];
    const log = new BoundedLog<{ sequence: number; bytes: number }>(1_000, {
      maxBytes: 1_000,
      sizeOf: (item) => item.bytes,
      onEvict: (item) => evicted.push(item.sequence),
    });
    for (let sequence = 1; sequence <= 10; sequence++) log.append(sized(sequence, 300));
    expect(log.bytes).toBeLessThanOrEqual(1_000);
    expect(log.after(0).map((entry) => entry.sequence)).toEqual([8, 9, 10]);
    expect(evicted).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(log.hasGapAfter(6)).toBe(true);
    log.append(sized(11, 5_000));
    expect(log.after(0).map((entry) => entry.sequence)).toEqual([11]);
    expect(log.evictOldest()?.sequence).toBe(11);
    expect(log.size).toBe(0);
    expect(log.bytes).toBe(0);
    expect(log.hasGapAfter(10)).toBe(true);
  });
});
