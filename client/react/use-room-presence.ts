/**
 * useRoomPresence: who is in a room, with their presence, and who is typing. The hook holds the
 * room (its `onRoom` subscription makes the caller a member while mounted), seeds the members
 * from `rooms.memberPage` whenever the subscription (re)starts or reports a gap, and keeps them
 * live from the room's events (batched per window by the server: `mode` says whether they list
 * members or, in a large room, only count them). A typing indicator clears itself if no refresh arrives in time, even
 * if the "stopped" event is lost. A room the caller may not enter (or no longer may) is an
 * `error` (FORBIDDEN) with no members, never a silently empty room.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { RealtimeEvent } from '../../shared/events.js';
import type { UserPresence } from '../../shared/presence.js';
import type { RoomMembershipMode } from '../../shared/room-membership.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';
import { applyPresenceEvent } from './presence-events.js';

export interface RoomPresence {
  /** userId → presence, for every member of the room. */
  members: ReadonlyMap<string, UserPresence>;
  /** Members typing now. */
  typingUsers: ReadonlySet<string>;
  /**
   * `detail`: `members` is every member, kept live change by change. `summary`: the room is past
   * the server's ROOM_PRESENCE_DETAIL_MAX, its events carry only counts: `members` is the first
   * page as of the last (re)subscription (page on with `rooms.memberPage`), `memberCount` is live.
   */
  mode: RoomMembershipMode;
  /** The room's size (in `summary` mode, more than `members` holds). */
  memberCount: number;
  /** Why the room cannot be shown: the subscription or the members query was refused (FORBIDDEN when the caller may not enter it). */
  error: Error | null;
}

export interface UseRoomPresenceOptions {
  /** A typist with no refresh for this long is cleared locally (the server's own expiry is ~5 s). @default 6000 */
  typingTimeoutMs?: number;
}

const emptyPresence: RoomPresence = { members: new Map(), typingUsers: new Set(), mode: 'detail', memberCount: 0, error: null };

/** Members read per `rooms.memberPage` call, and pages read at most when seeding a room in `detail` mode. */
const seedPageSize = 500;
const maxSeedPages = 20;

const refused = (error: unknown) => (): RoomPresence => ({ ...emptyPresence, error: error instanceof Error ? error : new Error(String(error)) });

export const roomStreamKey = (roomId: string) => `onRoom:${roomId}`;

function withMember(state: RoomPresence, presence: UserPresence): RoomPresence {
  const members = new Map(state.members);
  members.set(presence.userId, presence);
  return { ...state, members, memberCount: state.mode === 'detail' ? members.size : state.memberCount };
}

function withTyping(state: RoomPresence, userId: string, isTyping: boolean): RoomPresence {
  if (state.typingUsers.has(userId) === isTyping) return state;
  const typingUsers = new Set(state.typingUsers);
  if (isTyping) typingUsers.add(userId);
  else typingUsers.delete(userId);
  return { ...state, typingUsers };
}

/** Idempotent: applying an event twice leaves the same state as once (see LiveState). */
export function reduceRoomPresence(state: RoomPresence, event: RealtimeEvent): RoomPresence {
  switch (event.type) {
    case 'room.joined': {
      const { userId } = event.data;
      if (state.members.has(userId)) return state;
      // A member who just joined is connected; their real status follows in user.presence or the next seed.
      return withMember(state, { userId, status: 'online', lastSeen: event.timestamp, connections: 1, idle: false });
    }
    case 'room.left': {
      const { userId } = event.data;
      if (!state.members.has(userId)) return withTyping(state, userId, false);
      const members = new Map(state.members);
      members.delete(userId);
      return withTyping({ ...state, members, memberCount: state.mode === 'detail' ? members.size : state.memberCount }, userId, false);
    }
    case 'user.presence':
    case 'user.idle': {
      const known = state.members.get(event.data.userId);
      if (!known) return state;
      const next = applyPresenceEvent(known, event);
      return next === known ? state : withMember(state, next);
    }
    case 'user.typing':
      return withTyping(state, event.data.userId, event.data.isTyping);
    // A detail batch's changes arrive first as single events (client/event-streams); the batch itself says the mode and size.
    case 'room.membership': {
      const { mode, memberCount } = event.data;
      return state.mode === mode && state.memberCount === memberCount ? state : { ...state, mode, memberCount };
    }
    default:
      return state;
  }
}

export function useRoomPresence(roomId: string, options: UseRoomPresenceOptions = {}): RoomPresence {
  const { client, hub } = useRealtimeContext();
  const typingTimeoutMs = options.typingTimeoutMs ?? 6_000;
  // One store per room: a different room starts from nothing rather than showing the last one's
  // members. Making one has no side effect, so React may discard it freely.
  const live = useMemo(() => {
    const state: LiveState<RoomPresence, RealtimeEvent> = new LiveState(emptyPresence, reduceRoomPresence, (error) => state.update(refused(error)));
    return state;
  }, [roomId]);

  useEffect(() => {
    const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
    const expireTyping = (userId: string, isTyping: boolean) => {
      clearTimeout(typingTimers.get(userId));
      typingTimers.delete(userId);
      if (!isTyping) return;
      typingTimers.set(
        userId,
        setTimeout(() => {
          typingTimers.delete(userId);
          live.update((state) => withTyping(state, userId, false));
        }, typingTimeoutMs),
      );
    };
    const seed = () =>
      live.reload(async () => {
        // Every member of a room in detail mode; the first page only of a large one.
        let page = await client.api.rooms.memberPage.query({ roomId, limit: seedPageSize });
        const members = [...page.items];
        for (let pages = 1; page.mode === 'detail' && page.nextCursor !== null && pages < maxSeedPages; pages++) {
          page = await client.api.rooms.memberPage.query({ roomId, cursor: page.nextCursor, limit: seedPageSize });
          members.push(...page.items);
        }
        const { mode, memberCount } = page;
        return (state) => ({ ...state, members: new Map(members.map((member) => [member.userId, member])), mode, memberCount, error: null });
      });
    const unsubscribe = hub.listen<RealtimeEvent>(roomStreamKey(roomId), (onEvent, handlers) => client.subscribeToRoom(roomId, onEvent, handlers), {
      onEvent: (event) => {
        live.apply(event);
        if (event.type === 'user.typing') expireTyping(event.data.userId, event.data.isTyping);
        if (event.type === 'room.left') expireTyping(event.data.userId, false);
      },
      onStarted: seed,
      onGap: seed,
      // The subscription is over (refused, or access revoked): show why, and no stale members.
      onError: (error) => live.update(refused(error)),
    });
    return () => {
      unsubscribe();
      for (const timer of typingTimers.values()) clearTimeout(timer);
      typingTimers.clear();
    };
  }, [client, hub, roomId, live, typingTimeoutMs]);

  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
}
