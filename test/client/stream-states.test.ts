/**
 * How the SSE client's connection state follows from its streams', with plain calls: a new
 * stream does not hold the open ones back, a failing one makes the client reconnecting until it
 * opens again, and no stream at all is idle.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../client/index.js';
import { StreamStates } from '../../client/transports/stream-states.js';

function board() {
  const seen: { state: ConnectionState; error: string | null }[] = [];
  const states = new StreamStates((state, error) => seen.push({ state, error: error?.message ?? null }));
  const last = () => seen.at(-1);
  return { states, last };
}

describe('StreamStates', () => {
  it('is connecting until a first stream opens, then open; a new stream does not hold the open ones back', () => {
    const { states, last } = board();
    states.add(1);
    expect(last()).toEqual({ state: 'connecting', error: null });
    states.failed(1, new Error('refused'));
    expect(last()).toEqual({ state: 'connecting', error: 'refused' });
    states.add(1); // the retry: still failing until it opens
    expect(last()).toEqual({ state: 'connecting', error: 'refused' });
    states.opened(1);
    expect(last()).toEqual({ state: 'open', error: null });
    states.add(2);
    expect(last()).toEqual({ state: 'open', error: null });
  });

  it('is reconnecting while a stream that was lost retries, and idle with no stream', () => {
    const { states, last } = board();
    states.add(1);
    states.add(2);
    states.opened(1);
    states.opened(2);
    states.failed(2, new Error('dropped'));
    expect(last()).toEqual({ state: 'reconnecting', error: 'dropped' });
    states.opened(2);
    expect(last()).toEqual({ state: 'open', error: null });
    states.failed(1, new Error('dropped again'));
    states.remove(1); // unsubscribed while failing: nothing fails any more
    expect(last()).toEqual({ state: 'open', error: null });
    states.remove(2);
    expect(last()).toEqual({ state: 'idle', error: null });
    expect(states.size).toBe(0);
    // Reports about a stream that is gone change nothing.
    states.opened(2);
    states.failed(2, new Error('late'));
    expect(last()).toEqual({ state: 'idle', error: null });
  });
});
