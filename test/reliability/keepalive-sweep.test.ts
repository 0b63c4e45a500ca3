/**
 * Issue 17: the keepalive sweep visits connections in slices, each once per interval, so pinging
 * 5,000 connections never blocks the event loop for all 5,000 writes at once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeepAliveSweep } from '../../server/transport/keepalive-sweep.js';

let sweep: KeepAliveSweep<number> | undefined;
beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  sweep?.stop();
  vi.useRealTimers();
});

function sweepOver(connections: Set<number>, intervalMs: number) {
  const visits = new Map<number, number>();
  sweep = new KeepAliveSweep(connections, intervalMs, (connection) => visits.set(connection, (visits.get(connection) ?? 0) + 1));
  return visits;
}

describe('keepalive sweep', () => {
  it('visits a thirtieth of 3,000 connections per tick, each once per interval', () => {
    const connections = new Set(Array.from({ length: 3_000 }, (_, index) => index));
    const visits = sweepOver(connections, 3_000);
    vi.advanceTimersByTime(100);
    expect(visits.size).toBe(100);
    vi.advanceTimersByTime(2_900);
    expect(visits.size).toBe(3_000);
    expect(Math.max(...visits.values())).toBe(1);
    vi.advanceTimersByTime(3_000);
    expect([...visits.values()].every((count) => count === 2)).toBe(true);
  });

  it('visits a few connections once per interval, not once per tick', () => {
    const visits = sweepOver(new Set([1, 2]), 3_000);
    vi.advanceTimersByTime(2_999);
    expect([...visits.values()]).toEqual([1, 1]);
    vi.advanceTimersByTime(3_000);
    expect([...visits.values()]).toEqual([2, 2]);
  });

  it('visits connections that arrive during a round, and skips those that leave', () => {
    const connections = new Set(Array.from({ length: 300 }, (_, index) => index));
    const visits = sweepOver(connections, 3_000);
    vi.advanceTimersByTime(100);
    connections.delete(299);
    connections.add(1_000);
    vi.advanceTimersByTime(2_900);
    expect(visits.has(299)).toBe(false);
    expect(visits.get(1_000)).toBe(1);
  });
});
