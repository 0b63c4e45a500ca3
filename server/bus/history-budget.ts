/**
 * The total byte budget of the embedded bus's history. Each event is counted once, however many
 * logs hold it (the global log and one per channel share the same object); past the budget the
 * oldest event still held anywhere is evicted from every log that holds it, so what goes first
 * is the oldest history of the whole service, and each log records the eviction (a resume from
 * before it gets `stream.gap`, never a silent skip).
 */
import type { BusEvent } from './bus.js';

interface Held {
  readonly event: BusEvent;
  readonly bytes: number;
  holders: number;
}

/**
 * Size of an event as it is kept and sent: about the length of its JSON (strings by their length
 * in UTF-16 code units, ≈ bytes for ASCII). Walked rather than serialized: JSON.stringify on
 * every publish tripled the embedded bus's cost per event; the walk reads each string's length
 * without copying it. Event data is validated JSON at most `limits.maxJsonDepth` deep.
 */
export function eventBytes(published: BusEvent): number {
  let total = 0;
  const pending: unknown[] = [published.event];
  for (let value = pending.pop(); pending.length > 0 || value !== undefined; value = pending.pop()) {
    if (typeof value === 'string') total += value.length + 2;
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null) total += 6;
    else if (value instanceof Date) total += 26;
    else if (Array.isArray(value)) {
      total += 2 + value.length;
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object') {
      total += 2;
      for (const key in value) {
        total += key.length + 4;
        pending.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return total;
}

export class HistoryBudget {
  private readonly held = new Map<number, Held>();
  /**
   * Sequences in publish order (oldest at `head`), including some already released: a queue of
   * our own rather than the Map's iteration order, because a Map iterator walks over the holes
   * that deletions at its front leave until V8 rehashes, which made finding the oldest O(n).
   */
  private order: number[] = [];
  private head = 0;
  bytes = 0;

  constructor(readonly maxBytes: number) {}

  get eventCount(): number {
    return this.held.size;
  }

  add(event: BusEvent, bytes: number, holders: number): void {
    this.held.set(event.sequence, { event, bytes, holders });
    this.order.push(event.sequence);
    this.bytes += bytes;
    // Released sequences behind a long-held one accumulate; dropping them keeps the queue within
    // twice what is held (amortised O(1) per event).
    if (this.order.length - this.head > 2 * this.held.size + 1_024) {
      this.order = this.order.slice(this.head).filter((sequence) => this.held.has(sequence));
      this.head = 0;
    }
  }

  bytesOf(sequence: number): number {
    return this.held.get(sequence)?.bytes ?? 0;
  }

  /** One log let the event go; when no log holds it, its bytes are free. */
  release(sequence: number): void {
    const held = this.held.get(sequence);
    if (!held) return;
    held.holders--;
    if (held.holders <= 0) this.forget(sequence);
  }

  forget(sequence: number): void {
    const held = this.held.get(sequence);
    if (!held) return;
    this.held.delete(sequence);
    this.bytes -= held.bytes;
  }

  /** The oldest event to evict, while the budget is exceeded (the newest event is always kept). */
  overBudget(): BusEvent | undefined {
    if (this.bytes <= this.maxBytes || this.held.size <= 1) return undefined;
    while (this.head < this.order.length && !this.held.has(this.order[this.head]!)) this.head++;
    if (this.head > 1_024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    const oldest = this.order[this.head];
    return oldest === undefined ? undefined : this.held.get(oldest)?.event;
  }
}
