/**
 * The live feed's memory: the newest events first (by timestamp, then id sequence), at most
 * `capacity` of them, each id once. Live events and a page of recent history can arrive in any
 * order; the snapshot is always sorted.
 *
 * Events can arrive by the thousand per second on a busy service, so additions are buffered and
 * published to React at most once per `flushIntervalMs` as one new immutable snapshot
 * (useSyncExternalStore reads it). The buffer is bounded too: a hidden tab whose timers are
 * throttled keeps only the newest `capacity` events, like the feed itself.
 */
import { parseEventId } from '../../../shared/event-id.js';
import type { RealtimeEvent } from '../../../shared/events.js';
import { createListeners } from '../../../shared/listeners.js';

export interface EventFeedOptions {
  /** Rows kept. @default 500 */
  capacity?: number;
  /** Longest wait before new events show. @default 50 */
  flushIntervalMs?: number;
}

export interface EventFeedSnapshot {
  /** Newest first. */
  events: readonly RealtimeEvent[];
  /** Every distinct event received since the page opened (recent history included), kept or not. */
  received: number;
}

export class EventFeedStore {
  private snapshot: EventFeedSnapshot = { events: [], received: 0 };
  private pending: RealtimeEvent[] = [];
  private received = 0;
  private readonly keptIds = new Set<string>();
  private readonly listeners = createListeners();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly capacity: number;
  private readonly flushIntervalMs: number;

  constructor(options: EventFeedOptions = {}) {
    this.capacity = options.capacity ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
  }

  /** Adds one event; an id already kept is ignored (a resumed stream may replay it). */
  add(event: RealtimeEvent): void {
    if (this.keptIds.has(event.id)) return;
    this.keptIds.add(event.id);
    this.pending.push(event);
    if (this.pending.length > this.capacity) this.forget(this.pending.splice(0, this.pending.length - this.capacity));
    this.received++;
    this.flushTimer ??= setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  addMany(events: Iterable<RealtimeEvent>): void {
    for (const event of events) this.add(event);
  }

  clear(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    this.keptIds.clear();
    this.snapshot = { events: [], received: this.received };
    this.notify();
  }

  /** For useSyncExternalStore; returns its own unsubscribe. */
  readonly subscribe = (listener: () => void): (() => void) => this.listeners.add(listener);

  readonly getSnapshot = (): EventFeedSnapshot => this.snapshot;

  /** Stops the flush timer; the store can be used again afterwards. */
  dispose(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const events = [...this.pending, ...this.snapshot.events].sort(newestFirst);
    this.pending = [];
    if (events.length > this.capacity) this.forget(events.splice(this.capacity));
    this.snapshot = { events, received: this.received };
    this.notify();
  }

  private forget(dropped: readonly RealtimeEvent[]): void {
    for (const event of dropped) this.keptIds.delete(event.id);
  }

  private notify(): void {
    this.listeners.emit();
  }
}

function newestFirst(a: RealtimeEvent, b: RealtimeEvent): number {
  return b.timestamp.getTime() - a.timestamp.getTime() || sequenceOf(b) - sequenceOf(a);
}

function sequenceOf(event: RealtimeEvent): number {
  return parseEventId(event.id)?.sequence ?? 0;
}
