/**
 * A `room.membership` batch (shared/room-membership.ts) read back as the single events it lists.
 * Apart from the schema, which the catalog (shared/events.ts) builds on, so the two do not import each other.
 */
import type { EventDataMap, RealtimeEvent } from './events.js';

/** One listed change: the single event it stands for, without its routing fields. */
export type MembershipChangeItem = Extract<EventDataMap['room.membership'], { mode: 'detail' }>['changes'][number];

/**
 * The single events a `detail` batch stands for (with their own ids), then the batch itself (for
 * whoever tracks the room's mode and size); any other event as it is.
 */
export function expandRoomMembership(event: RealtimeEvent): RealtimeEvent[] {
  if (event.type !== 'room.membership' || event.data.mode !== 'detail') return [event];
  const { roomId } = event.data;
  const singles = event.data.changes.map(
    (change) => ({ ...change, roomId, userId: change.data.userId, senderId: change.data.userId }) as RealtimeEvent,
  );
  return [...singles, event];
}
