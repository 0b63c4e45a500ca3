/**
 * Resume cursors of a partitioned bus (Redis Cluster). With no global sequence, one event id
 * cannot say where a subscription listening on channels of several partitions stands, so the
 * tracked id its events carry (what tRPC's links send back as `lastEventId`) is a cursor: a
 * position per partition, `~<position>~<position>…`, each `<partition epoch>-<sequence>`.
 *
 * A live event's cursor is this process's delivered position in each of the subscription's
 * partitions at the moment it is delivered: a partition's events reach every local subscriber
 * in order before the next, so everything up to those positions was offered to the subscriber.
 * Subscribers with the same partitions share one cursor string per delivery (one encoded frame).
 * While a resume's replay is delivered, the cursor instead moves event by event from the resume
 * point (see SubscriptionCursor.advance).
 */
import type { BusEvent, SubscriptionCursor } from './bus.js';

export type { ResumeCursors, SubscriptionCursor } from './bus.js';

const separator = '~';

export function formatCursor(positions: Iterable<string>): string {
  let cursor = '';
  for (const position of positions) cursor += separator + position;
  return cursor;
}

/** The positions a cursor (or a single event id) names, keyed by partition; unknown parts are left out. */
export function parseCursor(cursor: string, partitionOf: (position: string) => number | undefined): Map<number, string> {
  const positions = new Map<number, string>();
  for (const position of cursor.split(separator)) {
    if (position === '') continue;
    const partition = partitionOf(position);
    if (partition !== undefined) positions.set(partition, position);
  }
  return positions;
}

/** The position a partitioned event holds in its partition. */
export const positionOf = (published: BusEvent): string => published.position ?? published.event.id;

/**
 * A process's delivered position in each partition, and the cursors made from them: a live
 * cursor per set of partitions is built once per delivered event, however many subscribers on
 * those partitions are handed it.
 */
export class DeliveredPositions {
  private deliveries = 0;
  private readonly liveCursors = new Map<string, { at: number; cursor: string }>();

  constructor(
    private readonly positions: string[],
    private readonly partitionOfId: (id: string) => number | undefined,
  ) {}

  get(partition: number): string {
    return this.positions[partition]!;
  }

  /** After an event of `partition` was delivered. */
  delivered(partition: number, position: string): void {
    this.positions[partition] = position;
    this.deliveries++;
  }

  /** Every partition's position, as a cursor. */
  head(): string {
    return formatCursor(this.positions);
  }

  forSubscription(listened: readonly number[], lastEventId: string | undefined): SubscriptionCursor {
    const key = listened.join(',');
    const positions = new Map(listened.map((partition) => [partition, this.get(partition)]));
    if (lastEventId !== undefined) {
      for (const [partition, position] of parseCursor(lastEventId, this.partitionOfId)) {
        if (positions.has(partition)) positions.set(partition, position);
      }
    }
    return {
      live: () => {
        const cached = this.liveCursors.get(key);
        if (cached?.at === this.deliveries) return cached.cursor;
        const cursor = formatCursor(listened.map((partition) => this.get(partition)));
        this.liveCursors.set(key, { at: this.deliveries, cursor });
        return cursor;
      },
      advance: (published) => {
        if (published.partition !== undefined && positions.has(published.partition)) positions.set(published.partition, positionOf(published));
        return formatCursor(positions.values());
      },
    };
  }
}
