/**
 * The flood guard's per-connection frame count (server/transport/frame-window.ts) with plain
 * numbers for the clock: the WebSocket behaviour (4030) is in test/integration/limits.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FrameWindow } from '../../server/transport/frame-window.js';

describe('frame window', () => {
  it('admits up to the limit within one window and refuses past it', () => {
    const window = new FrameWindow();
    const admitted = Array.from({ length: 12 }, (_, index) => window.admit(1_000 + index, 10, 5_000));
    expect(admitted.filter(Boolean)).toHaveLength(10);
    expect(admitted.slice(10)).toEqual([false, false]);
  });

  it('opens a new window once the last one is over, not before', () => {
    const window = new FrameWindow();
    for (let index = 0; index < 10; index++) window.admit(1_000, 10, 5_000);
    expect(window.admit(5_999, 10, 5_000)).toBe(false);
    expect(window.admit(6_000, 10, 5_000)).toBe(true);
    for (let index = 0; index < 9; index++) expect(window.admit(6_001, 10, 5_000)).toBe(true);
    expect(window.admit(6_002, 10, 5_000)).toBe(false);
  });

  it('starts with an open window, whatever the clock reads', () => {
    expect(new FrameWindow().admit(0, 1, 5_000)).toBe(true);
    expect(new FrameWindow().admit(-1e9, 1, 5_000)).toBe(true);
  });
});
