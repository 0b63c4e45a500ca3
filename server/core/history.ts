/**
 * A bounded log of events ordered by sequence, with a record of what it has evicted so that a
 * resume from before the oldest retained event is reported as a gap instead of silently skipped.
 */
export interface Sequenced {
  readonly sequence: number;
}

export class BoundedLog<T extends Sequenced> {
  private items: T[] = [];
  /** Index of the oldest retained item in `items` (a ring over a plain array, compacted lazily). */
  private start = 0;
  /** Sequence of the newest evicted item; 0 when nothing was evicted. */
  evictedThrough = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  get size(): number {
    return this.items.length - this.start;
  }

  get newestSequence(): number {
    return this.size === 0 ? this.evictedThrough : this.items[this.items.length - 1]!.sequence;
  }

  append(item: T): void {
    this.items.push(item);
    if (this.size > this.capacity) {
      this.evictedThrough = this.items[this.start]!.sequence;
      this.start++;
      // Compact once half the array is dead, so appends stay O(1) amortised.
      if (this.start > this.capacity) {
        this.items = this.items.slice(this.start);
        this.start = 0;
      }
    }
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
    return this.items.slice(low);
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
