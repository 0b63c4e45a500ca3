/**
 * Coalescing of ephemeral events (cursors, selections) where they are published: per key (room,
 * sender, type), at most `hz` sends a second, and the latest value always sent last. A member
 * moving a cursor at 60 Hz in a room of 50 is 3,000 events a second to fan out to 50 sockets;
 * at 20 Hz a third of that, and nobody sees a position older than 1/hz seconds.
 *
 * The first publish of a quiet key goes out at once (no added latency); the ones that follow
 * within the interval replace each other, and the last of them goes out when the interval ends
 * (the trailing send, like a throttle with trailing edge). Each key holds one timer while it is
 * active and is deleted when an interval ends with nothing pending, so memory follows activity.
 */
import type { RealtimeEvent } from '../../shared/events.js';

export interface EphemeralSend {
  event: RealtimeEvent;
  channels: readonly string[];
}

interface KeyState {
  pending: EphemeralSend | undefined;
  timer: ReturnType<typeof setTimeout>;
}

export class EphemeralCoalescer {
  private readonly keys = new Map<string, KeyState>();
  private readonly intervalMs: number;
  private coalescedCount = 0;

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
    this.send(item);
    this.keys.set(key, { pending: undefined, timer: this.startInterval(key) });
  }

  /** Sends what is pending now (shutdown): nothing is held back once the service stops. */
  flushAll(): void {
    for (const [key, state] of this.keys) {
      clearTimeout(state.timer);
      this.keys.delete(key);
      if (state.pending) this.send(state.pending);
    }
  }

  private startInterval(key: string): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.endInterval(key), this.intervalMs);
    timer.unref();
    return timer;
  }

  private endInterval(key: string): void {
    const state = this.keys.get(key);
    if (!state) return;
    const { pending } = state;
    if (!pending) {
      this.keys.delete(key);
      return;
    }
    state.pending = undefined;
    state.timer = this.startInterval(key);
    this.send(pending);
  }
}
