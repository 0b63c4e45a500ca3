/**
 * The room-membership fold: who is in which room, since when, built from `room.joined` and
 * `room.left` events. One reducer for both backends: the embedded membership folds each change
 * it makes as it publishes it, and every process of a cluster folds the events its bus delivers
 * (cluster/cluster-replica), so the two cannot disagree about what an event means.
 */
import type { EventDataMap, EventType } from '../../shared/events.js';
import type { RoomIndex } from './room-index.js';

/** An event, or a publish request, narrowed by its `type`. */
export type TypedEvent = { [T in EventType]: { type: T; data: EventDataMap[T] } }[EventType];

/**
 * Applies one event to the index of members (with the time they joined); `at` is when it
 * happened. Events of other types leave it unchanged. Returns whether it changed membership.
 */
export function foldRoomMembership(members: RoomIndex<Date>, event: TypedEvent, at: Date): boolean {
  switch (event.type) {
    case 'room.joined':
      members.add(event.data.roomId, event.data.userId, at, at);
      return true;
    case 'room.left':
      members.remove(event.data.roomId, event.data.userId);
      return true;
    default:
      return false;
  }
}
