/**
 * Coalescing of ephemeral events (cursors, selections) where they are published: per key (room,
 * sender, type), at most `hz` sends a second, and the latest value always sent last. A member
 * moving a cursor at 60 Hz in a room of 50 is 3,000 events a second to fan out to 50 sockets;
 * at 20 Hz a third of that, and nobody sees a position older than 1/hz seconds.
 *
 * The first publish of a quiet key goes out at once (no added latency); the ones that follow
 * replace each other, and the latest goes out on a later tick of one shared timer, at least an
 * interval after the key's previous send (the trailing send, like a throttle's trailing edge).
 * A key with nothing pending for an interval is deleted, so memory follows activity.
 */
import type { RealtimeEvent } from '../../shared/events.js';

export interface EphemeralSend {
  event: RealtimeEvent;
  channels: readonly string[];
}

interface KeyState {
  pending: EphemeralSend | undefined;
  /** performance.now() of the key's last send. */
  lastSentAt: number;
}

export class EphemeralCoalescer {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private coalescedCount = 0;
  /** One timer for every key, running while any key is active. */
  private ticker: ReturnType<typeof setInterval> | undefined;

  /** @param hz most sends per key and second; 0 or less turns coalescing off (every publish is sent). */
  constructor(
    hz: number,
    private readonly send: (item: EphemeralSend) => void,
  ) {
    this.intervalMs = hz > 0 ? 1000 / hz : 0;
  }

  /** Publishes replaced by a later one before they were sent (exported as a metric). */
  get coalesced(): number {
    return this.coalescedCount;
  }

  /** Keys with an interval running; returns to zero once publishing stops (for leak checks). */
  get activeKeys(): number {
    return this.keys.size;
  }

  offer(key: string, item: EphemeralSend): void {
    if (this.intervalMs === 0) {
      this.send(item);
      return;
    }
    const state = this.keys.get(key);
    if (state) {
      if (state.pending) this.coalescedCount++;
      state.pending = item;
      return;
    }
    this.keys.set(key, { pending: undefined, lastSentAt: performance.now() });
    this.send(item);
    if (!this.ticker) {
      this.ticker = setInterval(() => this.tick(), this.intervalMs);
      this.ticker.unref();
    }
  }

  /** Sends what is pending now (shutdown): nothing is held back once the service stops. */
  flushAll(): void {
    const pending = [...this.keys.values()].flatMap((state) => state.pending ?? []);
    this.keys.clear();
    this.stopTicker();
    for (const item of pending) this.send(item);
  }

  /**
   * The trailing sends of every key in one tick, not one timer each: the transport corks each
   * socket's writes within a tick, so 50 members' cursors reach a socket as one write instead
   * of 50 (bench --cursors: a timer per key cost more CPU than no coalescing at all).
   */
  private tick(): void {
    const now = performance.now();
    // A key sent less than an interval ago (its first, immediate send) waits for the next tick.
    const due = this.intervalMs - 1;
    for (const [key, state] of this.keys) {
      if (now - state.lastSentAt < due) continue;
      const { pending } = state;
      if (!pending) {
        this.keys.delete(key);
        continue;
      }
      state.pending = undefined;
      state.lastSentAt = now;
      this.send(pending);
    }
    if (this.keys.size === 0) this.stopTicker();
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
