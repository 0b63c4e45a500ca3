/**
 * The one-timer deadline queue behind token expiry: order, cancel, errors, deadlines past
 * setTimeout's ceiling, and a heap that stays bounded however many deadlines are cancelled.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../../server/transport/deadline-queue.js';

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

function queueOf() {
  const expired: string[] = [];
  const errors: unknown[] = [];
  const queue = new DeadlineQueue<string>(
    (item) => {
      if (item === 'throws') throw new Error('expire failed');
      expired.push(item);
    },
    (error) => errors.push(error),
  );
  return { queue, expired, errors };
}

describe('DeadlineQueue', () => {
  it('expires each item at its deadline, in deadline order, whatever the order they were added in', () => {
    const { queue, expired } = queueOf();
    const now = Date.now();
    queue.add(now + 300, 'c');
    queue.add(now + 100, 'a');
    queue.add(now + 200, 'b');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(99);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['a']);
    vi.advanceTimersByTime(200);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('expires a deadline already past at once, and items sharing a deadline together', () => {
    const { queue, expired } = queueOf();
    queue.add(Date.now() - 5_000, 'late');
    queue.add(Date.now() + 50, 'x');
    queue.add(Date.now() + 50, 'y');
    vi.advanceTimersByTime(0);
    expect(expired).toEqual(['late']);
    vi.advanceTimersByTime(50);
    expect(expired.sort()).toEqual(['late', 'x', 'y']);
  });

  it('never expires a cancelled item; a cancel after expiry, or twice, changes nothing', () => {
    const { queue, expired } = queueOf();
    const a = queue.add(Date.now() + 100, 'a');
    const b = queue.add(Date.now() + 200, 'b');
    queue.cancel(a);
    queue.cancel(a);
    expect(queue.size).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(['b']);
    queue.cancel(b);
    expect(queue.size).toBe(0);
    queue.add(Date.now() + 10, 'c');
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['b', 'c']);
  });

  it('re-arms for an item earlier than the one it waits for', () => {
    const { queue, expired } = queueOf();
    queue.add(Date.now() + 10_000, 'later');
    queue.add(Date.now() + 10, 'sooner');
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['sooner']);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('reports an exception from one expiry and still expires the others', () => {
    const { queue, expired, errors } = queueOf();
    queue.add(Date.now() + 10, 'throws');
    queue.add(Date.now() + 10, 'fine');
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(['fine']);
    expect(errors).toHaveLength(1);
  });

  it('reaches a deadline beyond setTimeout’s ~24.8-day ceiling in steps, not at once', () => {
    const { queue, expired } = queueOf();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    queue.add(Date.now() + thirtyDays, 'far');
    vi.advanceTimersByTime(2_147_483_647);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(thirtyDays - 2_147_483_647);
    expect(expired).toEqual(['far']);
  });

  it('keeps its heap within twice the live deadlines (plus a small floor) under churn', () => {
    const { queue, expired } = queueOf();
    const keep = Array.from({ length: 100 }, (_, index) => queue.add(Date.now() + 3_600_000 + index, `keep${index}`));
    let largest = 0;
    for (let index = 0; index < 20_000; index++) {
      queue.cancel(queue.add(Date.now() + 7 * 24 * 3_600_000, `churn${index}`));
      largest = Math.max(largest, queue.heldEntries);
    }
    expect(queue.size).toBe(100);
    expect(largest).toBeLessThanOrEqual(2 * 100 + 64 + 1);
    queue.cancel(keep[0]!);
    vi.advanceTimersByTime(3_600_000 + 100);
    expect(expired).toHaveLength(99);
  });

  it('clear() forgets every deadline and stops its timer', () => {
    const { queue, expired } = queueOf();
    queue.add(Date.now() + 10, 'a');
    queue.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
  });
});
