/** The provider's building blocks with plain objects: stream sharing and snapshot-plus-events state. */
import { describe, expect, it } from 'vitest';
import type { StreamHandlers } from '../../client/index.js';
import { LiveState } from '../../client/react/live-state.js';
import { StreamHub } from '../../client/react/stream-hub.js';
import { sleep, waitFor } from '../support/wait.js';

/** A stream source that records how often it was started and stopped. */
function source() {
  const state = { starts: 0, stops: 0, emit: (_value: number) => {}, handlers: {} as StreamHandlers };
  const start = (onEvent: (value: number) => void, handlers: StreamHandlers) => {
    state.starts++;
    state.emit = onEvent;
    state.handlers = handlers;
    return () => void state.stops++;
  };
  return { state, start };
}

describe('StreamHub', () => {
  it('shares one stream between listeners and releases it after the last one leaves', async () => {
    const hub = new StreamHub();
    const { state, start } = source();
    const a: number[] = [];
    const b: number[] = [];
    const stopA = hub.listen('k', start, { onEvent: (value) => a.push(value) });
    const stopB = hub.listen('k', start, { onEvent: (value) => b.push(value) });
    state.emit(1);
    expect([a, b, state.starts]).toEqual([[1], [1], 1]);
    stopA();
    stopA();
    stopB();
    expect(state.stops).toBe(0);
    await sleep(5);
    expect([state.stops, hub.openStreamCount]).toEqual([1, 0]);
  });

  it('keeps the stream through an unmount and remount in the same task (StrictMode)', async () => {
    const hub = new StreamHub();
    const { state, start } = source();
    const stop = hub.listen('k', start, { onEvent: () => {} });
    state.handlers.onStarted?.();
    stop();
    let lateStarted = false;
    const again = hub.listen('k', start, { onEvent: () => {}, onStarted: () => (lateStarted = true) });
    await sleep(5);
    expect([state.starts, state.stops, lateStarted]).toEqual([1, 0, true]);
    again();
    hub.close();
    expect(state.stops).toBe(1);
  });

  it('forgets a failed stream so the next listener starts a fresh one, and isolates throwing handlers', () => {
    const hub = new StreamHub();
    const { state, start } = source();
    const errors: Error[] = [];
    const received: number[] = [];
    hub.listen('k', start, {
      onEvent: () => {
        throw new Error('handler bug');
      },
    });
    hub.listen('k', start, { onEvent: (value) => received.push(value), onError: (error) => errors.push(error) });
    const uncaught: unknown[] = [];
    const capture = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', capture);
    state.emit(7);
    expect(received).toEqual([7]);
    state.handlers.onError?.(new Error('FORBIDDEN'));
    expect(errors.map((error) => error.message)).toEqual(['FORBIDDEN']);
    expect(hub.openStreamCount).toBe(0);
    hub.listen('k', start, { onEvent: () => {} });
    expect(state.starts).toBe(2);
    hub.close();
    return sleep(5).then(() => {
      process.off('uncaughtException', capture);
      expect(uncaught).toHaveLength(1);
    });
  });
});

describe('LiveState', () => {
  const add = (set: readonly string[], event: string) => (event.startsWith('-') ? set.filter((x) => x !== event.slice(1)) : set.includes(event) ? set : [...set, event]);

  it('re-applies the events that arrived during a snapshot load on top of the snapshot', async () => {
    const live = new LiveState<readonly string[], string>([], add);
    let resolve!: (snapshot: readonly string[]) => void;
    live.reload(() => new Promise((done) => (resolve = (snapshot) => done(() => snapshot))));
    live.apply('-stale');
    live.apply('fresh');
    expect(live.getSnapshot()).toEqual(['fresh']);
    // The snapshot was taken before both events: it still has `stale` and lacks `fresh`.
    resolve(['stale', 'kept']);
    await sleep(0);
    expect(live.getSnapshot()).toEqual(['kept', 'fresh']);
  });

  it('coalesces reloads requested while one is in flight into one more', async () => {
    const live = new LiveState<readonly string[], string>([], add);
    const pending: Array<() => void> = [];
    let loads = 0;
    const load = () => {
      const number = ++loads;
      return new Promise<(current: readonly string[]) => readonly string[]>((resolve) =>
        pending.push(() => resolve(() => [`load-${number}`])),
      );
    };
    live.reload(load);
    live.reload(load);
    live.reload(load);
    expect(loads).toBe(1);
    pending.shift()!();
    await waitFor(() => loads === 2, 'the one coalesced reload');
    pending.shift()!();
    await waitFor(() => live.getSnapshot()[0] === 'load-2', 'the second snapshot');
    expect(loads).toBe(2);
  });
});
