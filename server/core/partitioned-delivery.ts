/**
 * What a subscriber adds on a partitioned bus (Redis Cluster, bus/cluster-bus), where events
 * carry no global sequence: the cursor each delivered event is tracked with, the parts of one
 * event heard through two partitions delivered once, and after a resume the live copies of
 * replayed events skipped by their position in their partition. Made only on such a bus: on one
 * process or one Redis a subscriber keeps none of it.
 */
import { isNewerEventId } from '../../shared/event-id.js';
import type { BusEvent } from '../bus/bus.js';
import { positionOf, type SubscriptionCursor } from '../bus/resume-cursors.js';

/** Multi-partition events remembered per subscriber to drop a second part (parts arrive close together). */
const rememberedParts = 8;

export class PartitionedDelivery {
  /** Set while a replay and the live events held during it are delivered: cursors move event by event. */
  private catchingUp = false;
  /** The newest replayed position per partition: a live copy at or before it was delivered already. */
  private replayedUpTo: Map<number, string> | undefined;
  private recentParts: string[] | undefined;

  constructor(private readonly cursor: SubscriptionCursor) {}

  beginCatchUp(): void {
    this.catchingUp = true;
  }

  endCatchUp(): void {
    this.catchingUp = false;
  }

  /** Whether `published` is new to this subscriber; `replayed`: read from history, not live. */
  accept(published: BusEvent, replayed: boolean): boolean {
    if (published.parts !== undefined) {
      const parts = (this.recentParts ??= []);
      if (parts.includes(published.event.id)) return false;
      if (parts.push(published.event.id) > rememberedParts) parts.shift();
    }
    if (published.partition === undefined) return true;
    if (replayed) {
      (this.replayedUpTo ??= new Map()).set(published.partition, positionOf(published));
      return true;
    }
    const replayedUpTo = this.replayedUpTo?.get(published.partition);
    return replayedUpTo === undefined || isNewerEventId(positionOf(published), replayedUpTo);
  }

  /** The tracked id of a delivered event. */
  cursorAfter(published: BusEvent): string {
    return this.catchingUp ? this.cursor.advance(published) : this.cursor.live();
  }

  /** The tracked id of an event outside the bus order (a membership batch, an ephemeral event). */
  current(): string {
    return this.cursor.live();
  }
}
