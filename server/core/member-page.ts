/**
 * One page of a room's members, in user id order: a cursor is the last id of the previous page,
 * so a page stays right while members come and go between calls (a member who joins behind the
 * cursor is on no page of this pass, as with any keyset paging).
 */
import type { UserPresence } from '../../shared/presence.js';
import type { RoomMembershipMode } from '../../shared/room-membership.js';

/** What `rooms.memberPage` answers. */
export interface RoomMemberPage {
  items: UserPresence[];
  nextCursor: string | null;
  memberCount: number;
  /** `summary`: the room is past ROOM_PRESENCE_DETAIL_MAX; its batches carry counts, not members. */
  mode: RoomMembershipMode;
}

export interface MemberIdPage {
  userIds: string[];
  /** Pass it as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
  memberCount: number;
}

export function pageOfMembers(members: Iterable<string>, page: { cursor?: string | undefined; limit: number }): MemberIdPage {
  const all = [...members];
  const after = page.cursor;
  const rest = (after === undefined ? all : all.filter((userId) => userId > after)).sort();
  const userIds = rest.slice(0, page.limit);
  return { userIds, nextCursor: rest.length > page.limit ? userIds.at(-1)! : null, memberCount: all.length };
}
