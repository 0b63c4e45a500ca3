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

/** Size of an event as it is kept and sent: its JSON, in UTF-16 code units (≈ bytes for ASCII). */
export function eventBytes(published: BusEvent): number {
  try {
    return JSON.stringify(published.event).length;
  } catch {
    return 0;
  }
}

export class HistoryBudget {
  /** In sequence order: events are added as they are published, so insertion order is age. */
  private readonly held = new Map<number, Held>();
  bytes = 0;

  constructor(readonly maxBytes: number) {}

  get eventCount(): number {
    return this.held.size;
  }

  add(event: BusEvent, bytes: number, holders: number): void {
    this.held.set(event.sequence, { event, bytes, holders });
    this.bytes += bytes;
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
    return this.held.values().next().value?.event;
  }
}
