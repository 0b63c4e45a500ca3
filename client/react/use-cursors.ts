/**
 * useCursors: the other members' latest cursor and selection in a room, for drawing live
 * cursors. Fed by the room's `cursor.moved` and `selection.changed` (ephemeral, coalesced by the
 * server), sharing the provider's one `onRoom` subscription of the room. A member is removed
 * when they leave the room, go idle or offline, or send nothing for `staleAfterMs` (a tab closed
 * without a goodbye still disappears).
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { EventDataMap, RealtimeEvent } from '../../shared/events.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';
import { roomStreamKey } from './use-room-presence.js';

export interface MemberCursor {
  userId: string;
  cursor?: EventDataMap['cursor.moved'];
  selection?: EventDataMap['selection.changed'];
  /** When the server stamped the latest of the two. */
  updatedAt: Date;
}

export interface UseCursorsOptions {
  /** A member with no cursor or selection for this long is removed. @default 30000 */
  staleAfterMs?: number;
}

type Cursors = ReadonlyMap<string, MemberCursor>;

const without = (state: Cursors, userId: string): Cursors => {
  if (!state.has(userId)) return state;
  const next = new Map(state);
  next.delete(userId);
  return next;
};

/** The cursors after one room event; `self` (the caller) is never listed. */
export function reduceCursors(state: Cursors, event: RealtimeEvent, self: string | undefined): Cursors {
  switch (event.type) {
    case 'cursor.moved':
    case 'selection.changed': {
      const userId = event.senderId;
      if (userId === undefined || userId === self) return state;
      const known = state.get(userId);
      if (known && known.updatedAt > event.timestamp) return state;
      const next = new Map(state);
      const part = event.type === 'cursor.moved' ? { cursor: event.data } : { selection: event.data };
      next.set(userId, { ...known, userId, ...part, updatedAt: event.timestamp });
      return next;
    }
    case 'room.left':
      return without(state, event.data.userId);
    case 'user.idle':
      return without(state, event.data.userId);
    case 'user.presence':
      return event.data.status === 'offline' ? without(state, event.data.userId) : state;
    default:
      return state;
  }
}

/**
 * @example
 * ```tsx
 * const cursors = useCursors('doc:1');
 * [...cursors.values()].map(({ userId, cursor }) => cursor && <Pointer key={userId} x={cursor.x} y={cursor.y} />);
 * ```
 */
export function useCursors(roomId: string, options: UseCursorsOptions = {}): Cursors {
  const { client, hub, userId: self } = useRealtimeContext();
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const live = useMemo(() => new LiveState<Cursors, RealtimeEvent>(new Map(), (state, event) => reduceCursors(state, event, self)), [roomId, self]);

  useEffect(() => {
    const staleTimers = new Map<string, ReturnType<typeof setTimeout>>();
    const expire = (userId: string) => {
      clearTimeout(staleTimers.get(userId));
      staleTimers.set(
        userId,
        setTimeout(() => {
          staleTimers.delete(userId);
          live.update((state) => without(state, userId));
        }, staleAfterMs),
      );
    };
    const unsubscribe = hub.listen<RealtimeEvent>(roomStreamKey(roomId), (onEvent, handlers) => client.subscribeToRoom(roomId, onEvent, handlers), {
      onEvent: (event) => {
        live.apply(event);
        if ((event.type === 'cursor.moved' || event.type === 'selection.changed') && event.senderId !== undefined) expire(event.senderId);
      },
    });
    return () => {
      unsubscribe();
      for (const timer of staleTimers.values()) clearTimeout(timer);
      staleTimers.clear();
    };
  }, [client, hub, roomId, live, staleAfterMs]);

  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
}
