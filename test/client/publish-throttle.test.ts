/** The client's throttle of ephemeral publishes: the first at once, the latest last, coalesced calls resolve with it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PublishThrottle } from '../../client/publish-throttle.js';

afterEach(() => vi.useRealTimers());

describe('PublishThrottle', () => {
  it('sends at most hz a second per key, the latest last, and resolves replaced calls with it', async () => {
    vi.useFakeTimers();
    const sent: number[] = [];
    const throttle = new PublishThrottle<number>(20);
    const send = (value: number) => () => {
      sent.push(value);
      return Promise.resolve(value);
    };
    const results = [1, 2, 3, 4].map((value) => throttle.run('cursor.moved', send(value)));
    const other = throttle.run('selection.changed', send(9));
    expect(sent).toEqual([1, 9]);
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toEqual([1, 9, 4]);
    expect(await Promise.all([...results, other])).toEqual([1, 4, 4, 4, 9]);
    await vi.advanceTimersByTimeAsync(100);
    throttle.run('cursor.moved', send(5));
    expect(sent).toEqual([1, 9, 4, 5]);
    throttle.close();
  });

  it('rejects what is still pending when closed', async () => {
    vi.useFakeTimers();
    const throttle = new PublishThrottle<number>(10);
    void throttle.run('k', () => Promise.resolve(1));
    const pending = throttle.run('k', () => Promise.resolve(2));
    throttle.close();
    await expect(pending).rejects.toThrow(/closed/);
  });
});
