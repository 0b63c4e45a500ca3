/**
 * Deadlines for many items on one timer: each connection's token expiry. A `setTimeout` per
 * connection cost ~0.4 KB each (a Timeout, a timer list per distinct delay, two closures); here an
 * item costs one small entry in a binary heap (tinyqueue) and one timer serves them all.
 *
 * Cancelled entries stay in the heap until they reach its top or until they outnumber the live
 * ones, when the heap is rebuilt from the live entries: its size stays within twice the live
 * count (plus a small floor), however long the deadlines and however fast connections churn.
 */
import TinyQueue from 'tinyqueue';

/** setTimeout's ceiling (~24.8 days); a later deadline is reached in steps. */
const maxTimerMs = 2_147_483_647;
/** Below this many entries the heap is never rebuilt. */
const compactionFloor = 64;

interface Entry<T> {
  readonly atMs: number;
  readonly item: T;
  cancelled: boolean;
}

/** What `add` returns, for `cancel`: the entry itself, not a closure over it (issue 17: one per connection). */
export type DeadlineEntry = { readonly atMs: number };

const byDeadline = (a: Entry<unknown>, b: Entry<unknown>) => a.atMs - b.atMs;

export class DeadlineQueue<T> {
  private heap = new TinyQueue<Entry<T>>([], byDeadline);
  private cancelledCount = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is armed for. */
  private armedForMs = Number.POSITIVE_INFINITY;

  /** `expire` runs once per item whose deadline passed; an exception in it does not stop the others. */
  constructor(
    private readonly expire: (item: T) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Live (not cancelled, not yet expired) deadlines. */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  /** Entries in the heap, cancelled ones not yet dropped included: at most twice `size` plus 64. */
  get heldEntries(): number {
    return this.heap.length;
  }

  /** Calls `expire(item)` at `atMs` (epoch milliseconds). Returns the entry to `cancel`. */
  add(atMs: number, item: T): DeadlineEntry {
    const entry: Entry<T> = { atMs, item, cancelled: false };
    this.heap.push(entry);
    if (atMs < this.armedForMs) this.arm();
    return entry;
  }

  /** Forgets a deadline; after it expired, or a second time, a no-op. */
  cancel(deadline: DeadlineEntry): void {
    const entry = deadline as Entry<T>;
    if (entry.cancelled) return;
    entry.cancelled = true;
    this.cancelledCount++;
    if (this.cancelledCount > compactionFloor && this.cancelledCount > this.heap.length / 2) this.compact();
  }

  /** Forgets every deadline and stops the timer. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForMs = Number.POSITIVE_INFINITY;
    this.heap = new TinyQueue<Entry<T>>([], byDeadline);
    this.cancelledCount = 0;
  }

  private compact(): void {
    this.heap = new TinyQueue(
      this.heap.data.filter((entry) => !entry.cancelled),
      byDeadline,
    );
    this.cancelledCount = 0;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedForMs = Number.POSITIVE_INFINITY;
    const next = this.heap.peek();
    if (!next) return;
    this.armedForMs = next.atMs;
    this.timer = setTimeout(() => this.runDue(), Math.max(0, Math.min(next.atMs - Date.now(), maxTimerMs)));
    this.timer.unref();
  }

  private runDue(): void {
    const now = Date.now();
    for (let next = this.heap.peek(); next && next.atMs <= now; next = this.heap.peek()) {
      this.heap.pop();
      if (next.cancelled) {
        this.cancelledCount--;
        continue;
      }
      // Marked so that a cancel arriving later (the expiry closes the connection) is a no-op.
      next.cancelled = true;
      try {
        this.expire(next.item);
      } catch (error) {
        this.onError(error);
      }
    }
    this.arm();
  }
}
