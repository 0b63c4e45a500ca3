/**
 * A throttle for ephemeral publishes on the client (cursors): at most `hz` sends a second per
 * key, the first at once and the latest of the rest when the interval ends; every call that was
 * coalesced away resolves with the send that replaced it. The server coalesces again (per room
 * and sender, EPHEMERAL_HZ), but a pointer at 60 Hz sent as is costs the server a call each
 * (authentication, rate limit, validation, an answer): throttling where the moves happen is what
 * keeps the server below a volatile relay's CPU (bench --cursors). Liveblocks throttles its
 * presence updates the same way (100 ms by default).
 */
type Waiter<R> = { resolve: (value: R) => void; reject: (error: unknown) => void };

interface KeyState<R> {
  pending: (() => Promise<R>) | undefined;
  waiters: Waiter<R>[];
  timer: ReturnType<typeof setTimeout>;
}

export class PublishThrottle<R> {
  private readonly keys = new Map<string, KeyState<R>>();
  private readonly intervalMs: number;

  /** @param hz most sends per key and second; 0 sends every call. */
  constructor(hz: number) {
    this.intervalMs = hz > 0 ? 1000 / hz : 0;
  }

  run(key: string, send: () => Promise<R>): Promise<R> {
    if (this.intervalMs === 0) return send();
    const state = this.keys.get(key);
    if (state) {
      state.pending = send;
      return new Promise<R>((resolve, reject) => state.waiters.push({ resolve, reject }));
    }
    this.keys.set(key, { pending: undefined, waiters: [], timer: this.startInterval(key) });
    return send();
  }

  /** Sends nothing more: pending calls reject (the component using them is gone). */
  close(): void {
    for (const state of this.keys.values()) {
      clearTimeout(state.timer);
      for (const waiter of state.waiters) waiter.reject(new Error('The publisher was closed before this publish was sent'));
    }
    this.keys.clear();
  }

  private startInterval(key: string): ReturnType<typeof setTimeout> {
    return setTimeout(() => this.endInterval(key), this.intervalMs);
  }

  private endInterval(key: string): void {
    const state = this.keys.get(key);
    if (!state) return;
    const { pending, waiters } = state;
    if (!pending) {
      this.keys.delete(key);
      return;
    }
    state.pending = undefined;
    state.waiters = [];
    state.timer = this.startInterval(key);
    pending().then(
      (value) => waiters.forEach((waiter) => waiter.resolve(value)),
      (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)),
    );
  }
}
