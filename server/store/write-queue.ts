/**
 * The store's bounded write queue: `push` is all delivery pays (an array push; a flush is
 * scheduled once per batch window), and batches are written behind it. A batch that fails stays at the
 * head of the queue and is retried with backoff, so nothing is lost while the process lives and
 * the order of writes holds. Past `maxQueued` a write is refused, counted and reported: the
 * queue's memory stays bounded when the database is away for long (a visible drop, never a silent one).
 */
import type { StoreCounters, StoreState } from '../core/durable-store.js';

export interface WriteQueueOptions<T> {
  /** Writes one batch (in one transaction); resolves with the rows written. */
  write(batch: readonly T[]): Promise<number>;
  /** @default 100000 */
  maxQueued?: number;
  /** @default 500 */
  maxBatch?: number;
  /** First retry delay, doubled per failure up to `maxRetryDelayMs`. @default 100 */
  retryDelayMs?: number;
  /** @default 5000 */
  maxRetryDelayMs?: number;
  /**
   * How long the first write of a batch waits for others: one transaction of many rows costs far
   * less than many of one (about half a millisecond of the service's CPU per transaction in the
   * fan-out bench, PostgreSQL or PGlite). A read that waits for `written()` does not wait for it.
   * @default 100
   */
  batchDelayMs?: number;
  onError(error: unknown, context: string): void;
}

interface Waiter {
  upTo: number;
  resolve(): void;
}

export class WriteQueue<T> {
  private items: T[] = [];
  /** Writes accepted so far, and of those, written: `written(…)` waits for the latter to reach the former. */
  private accepted = 0;
  private settled = 0;
  private waiters: Waiter[] = [];
  private scheduled = false;
  private flushing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private closed = false;
  private readonly counts = { rowsWritten: 0, failedBatches: 0, droppedWrites: 0 };

  constructor(private readonly options: WriteQueueOptions<T>) {}

  /** Queues a write; false when the queue is full (the write is counted as dropped). */
  push(item: T): boolean {
    if (this.closed || this.items.length >= (this.options.maxQueued ?? 100_000)) {
      if (this.counts.droppedWrites++ % 1_000 === 0) {
        this.options.onError(new Error(`store write queue full (${this.items.length}): writes are dropped and counted`), 'store');
      }
      return false;
    }
    this.items.push(item);
    this.accepted++;
    this.schedule();
    return true;
  }

  get state(): StoreState {
    return this.failures > 0 ? 'degraded' : 'ready';
  }

  get reason(): string | undefined {
    return this.failures > 0 ? this.lastError : undefined;
  }

  counters(): StoreCounters {
    return { ...this.counts, queued: this.items.length };
  }

  /** Resolves once what was accepted before the call is written, or after `timeoutMs`. */
  written(timeoutMs = 2_000): Promise<void> {
    const upTo = this.accepted;
    if (this.settled >= upTo) return Promise.resolve();
    // Someone reads: write now rather than at the end of the batch window (a retry keeps its backoff).
    if (!this.flushing && !this.retryTimer) void this.flush();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        upTo,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve();
      }, timeoutMs);
      timer.unref();
      this.waiters.push(waiter);
    });
  }

  /** Stops accepting; tries to write what is queued for at most `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    const drained = this.written(timeoutMs);
    this.closed = true;
    await drained;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.retryTimer) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      void this.flush();
    }, this.options.batchDelayMs ?? 100).unref();
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.items.length === 0) return;
    this.flushing = true;
    const batch = this.items.slice(0, this.options.maxBatch ?? 500);
    try {
      this.counts.rowsWritten += await this.options.write(batch);
      this.items.splice(0, batch.length);
      this.settled += batch.length;
      this.failures = 0;
      this.lastError = undefined;
      this.wake();
    } catch (error) {
      this.counts.failedBatches++;
      this.lastError = error instanceof Error ? error.message : String(error);
      // The first failure of a streak is reported; the rest are counted (realtime_store_failed_batches_total).
      if (this.failures++ === 0) this.options.onError(error, 'store: writing a batch (retrying)');
    } finally {
      this.flushing = false;
    }
    if (this.items.length === 0) return;
    if (this.failures === 0) return this.schedule();
    const delay = Math.min(this.options.maxRetryDelayMs ?? 5_000, (this.options.retryDelayMs ?? 100) * 2 ** Math.min(this.failures - 1, 16));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delay);
    // Never keeps the process alive by itself: stop() drains with a deadline.
    this.retryTimer.unref();
  }

  private wake(): void {
    const ready = this.waiters.filter((waiter) => waiter.upTo <= this.settled);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.upTo > this.settled);
    for (const waiter of ready) waiter.resolve();
  }
}
