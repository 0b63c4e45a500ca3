/**
 * `room.membership`: one event per room and batching window, carrying what changed in the room's
 * membership (joins, leaves, presence, idle) instead of one event per change to every member.
 * Filling a room of N one by one cost N²/2 deliveries (issue 17: 12.5 million events for 5,000
 * users); batched, each member receives one event per window. Phoenix Presence sends its
 * `presence_diff` the same way; Centrifugo and Discord stop listing members in large channels,
 * as `summary` does here.
 *
 * - `detail`: the changes themselves, each with the id and timestamp of the stored event that
 *   described it, so a client that also gets that event from a replay drops it as a repeat.
 * - `summary`: a room above `ROOM_PRESENCE_DETAIL_MAX` members (or a window with more than
 *   `maxMembershipChanges` changes) sends only its size and how many joined and left; members are
 *   then read page by page with `rooms.memberPage`.
 *
 * `expandRoomMembership` (shared/membership-batches.ts) turns a batch back into the single events
 * it stands for, so code written against `room.joined` / `room.left` / `user.presence` /
 * `user.idle` applies it unchanged.
 */
import { z } from 'zod';
import { idSchema } from './ids.js';

/** The event types a room batches. */
export const batchedMembershipTypes = ['room.joined', 'room.left', 'user.presence', 'user.idle'] as const;
export type BatchedMembershipType = (typeof batchedMembershipTypes)[number];

export function isBatchedMembershipType(type: string): type is BatchedMembershipType {
  return (batchedMembershipTypes as readonly string[]).includes(type);
}

/** Most changes one `detail` batch lists; a window with more is sent as a `summary`. */
export const maxMembershipChanges = 256;

export type RoomMembershipMode = 'detail' | 'summary';

const count = z.number().int().min(0);
const eventId = z.string().max(256);

/** Built from the catalog's own schemas of the four types, so a listed change is validated exactly as the single event. */
export function roomMembershipSchema<Schemas extends { [K in BatchedMembershipType]: z.ZodType }>(schemas: Schemas) {
  const change = <K extends BatchedMembershipType>(type: K) =>
    z.strictObject({ id: eventId, type: z.literal(type), data: schemas[type], timestamp: z.coerce.date() });
  const changes = z.discriminatedUnion('type', [change('room.joined'), change('room.left'), change('user.presence'), change('user.idle')]);
  return z.discriminatedUnion('mode', [
    z.strictObject({ roomId: idSchema, mode: z.literal('detail'), memberCount: count, changes: z.array(changes).max(maxMembershipChanges) }),
    z.strictObject({ roomId: idSchema, mode: z.literal('summary'), memberCount: count, joined: count, left: count }),
  ]);
}
