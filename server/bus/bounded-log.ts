/**
 * A bounded log of events ordered by sequence, with a record of what it has evicted so that a
 * resume from before the oldest retained event is reported as a gap instead of silently skipped.
 *
 * Bounded in items and, when given a size for each item, in bytes: a count alone let a few
 * large events hold a lot of memory (issue 13: 2,000 presence updates of 58 kB kept 128 MB).
 */
export interface Sequenced {
  readonly sequence: number;
}

export interface BoundedLogOptions<T> {
  /** Bytes kept, by `sizeOf`; the newest item is always kept, whatever its size. @default Infinity */
  maxBytes?: number;
  /** @default every item counts 0 bytes */
  sizeOf?: (item: T) => number;
  /** Told of every item the log lets go (by count, by bytes or by `evictOldest`). */
  onEvict?: (item: T) => void;
}

export class BoundedLog<T extends Sequenced> {
  /** Slots before `start` are cleared (undefined), so an evicted event is not kept alive by the array. */
  private items: Array<T | undefined> = [];
  private sizes: number[] = [];
  /** Index of the oldest retained item in `items` (a ring over a plain array, compacted lazily). */
  private start = 0;
  /** Sequence of the newest evicted item; 0 when nothing was evicted. */
  evictedThrough = 0;
  /** Bytes of the retained items, by `sizeOf`. */
  bytes = 0;
  private readonly maxBytes: number;
  private readonly sizeOf: ((item: T) => number) | undefined;
  private readonly onEvict: ((item: T) => void) | undefined;

  constructor(
    readonly capacity: number,
    options: BoundedLogOptions<T> = {},
  ) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.sizeOf = options.sizeOf;
    this.onEvict = options.onEvict;
  }

  get size(): number {
    return this.items.length - this.start;
  }

  get newestSequence(): number {
    return this.size === 0 ? this.evictedThrough : this.items[this.items.length - 1]!.sequence;
  }

  /** The oldest retained item, if any. */
  get oldest(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.start];
  }

  append(item: T): void {
    const size = this.sizeOf?.(item) ?? 0;
    this.items.push(item);
    this.sizes.push(size);
    this.bytes += size;
    while (this.size > this.capacity || (this.bytes > this.maxBytes && this.size > 1)) this.evictOldest();
  }

  /** Lets the oldest item go (the caller's total budget is spent); returns it. */
  evictOldest(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.start]!;
    this.bytes -= this.sizes[this.start]!;
    this.items[this.start] = undefined;
    this.evictedThrough = item.sequence;
    this.start++;
    // Compact once half the array is dead, so appends stay O(1) amortised.
    if (this.start > Math.max(this.size, 16)) {
      this.items = this.items.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.start = 0;
    }
    this.onEvict?.(item);
    return item;
  }

  /** Every retained item, oldest first. */
  retained(): T[] {
    return this.items.slice(this.start) as T[];
  }

  /** Items with a sequence greater than `afterSequence`, oldest first. */
  after(afterSequence: number): T[] {
    let low = this.start;
    let high = this.items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.items[middle]!.sequence <= afterSequence) low = middle + 1;
      else high = middle;
    }
    return this.items.slice(low) as T[];
  }

  /** Whether events after `afterSequence` were evicted and can no longer be replayed. */
  hasGapAfter(afterSequence: number): boolean {
    return afterSequence < this.evictedThrough;
  }

  /** Newest first, at most `limit`, optionally filtered. */
  newest(limit: number, predicate?: (item: T) => boolean): T[] {
    const result: T[] = [];
    for (let index = this.items.length - 1; index >= this.start && result.length < limit; index--) {
      const item = this.items[index]!;
      if (!predicate || predicate(item)) result.push(item);
    }
    return result;
  }
}
