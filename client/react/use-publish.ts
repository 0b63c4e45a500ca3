/**
 * usePublish and useRoomEvents: members talk through a room (Liveblocks' `useBroadcastEvent` and
 * `useEventListener`). `usePublish(roomId)` returns a stable function that publishes one of the
 * types members may publish (`cursor.moved`, `selection.changed`, the app's clientPublishable
 * ones), its payload typed by its type; `useRoomEvents(roomId, type)` keeps the latest events of
 * a type in the room, sharing the provider's one `onRoom` subscription of that room (which holds
 * the caller's membership while mounted: a member may publish).
 */
import { useCallback, useEffect, useMemo, useSyncExternalStore } from 'react';
import { ephemeralEventTypes, type EventDataInput, type EventType, type RealtimeEvent, type RoomPublishableEventType } from '../../shared/events.js';
import { PublishThrottle } from '../publish-throttle.js';
import type { RouterInputs } from '../router-types.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';
import { roomStreamKey } from './use-room-presence.js';
import { useLatest } from './use-latest.js';

/**
 * Publishes into the room; resolves with the event as stamped. `cursor.moved` and
 * `selection.changed` are throttled here (at most `ephemeralHz` sends a second per type, the
 * latest last): a call replaced by a later one resolves with the event that replaced it.
 */
export type RoomPublisher = <T extends RoomPublishableEventType>(type: T, data: EventDataInput<T>) => Promise<RealtimeEvent>;

export interface UsePublishOptions {
  /** Most cursor and selection sends a second (as the server's EPHEMERAL_HZ); 0 sends every call. @default 20 */
  ephemeralHz?: number;
}

/**
 * @example
 * ```tsx
 * const publish = usePublish('doc:1');
 * onPointerMove={(event) => void publish('cursor.moved', { x: event.clientX, y: event.clientY })}
 * ```
 */
export function usePublish(roomId: string, options: UsePublishOptions = {}): RoomPublisher {
  const { client } = useRealtimeContext();
  const hz = options.ephemeralHz ?? 20;
  const throttle = useMemo(() => new PublishThrottle<RealtimeEvent>(hz), [client, roomId, hz]);
  useEffect(() => () => throttle.close(), [throttle]);
  return useCallback(
    (type, data) => {
      // `{ type, data }` pairs by construction (the publisher's signature); the input type is a union over types.
      const input = { roomId, type, data } as RouterInputs['rooms']['publish'];
      const send = async () => (await client.api.rooms.publish.mutate(input)).event;
      return ephemeralEventTypes.has(type) ? throttle.run(type, send) : send();
    },
    [client, roomId, throttle],
  );
}

export interface UseRoomEventsOptions<T extends EventType> {
  /** Called for each event of the type as it arrives (the newest callback, never re-subscribing). */
  onEvent?: (event: RealtimeEvent<T>) => void;
  /** Events kept, newest last. @default 50 */
  limit?: number;
}

/**
 * The latest events of `type` in the room, oldest first (at most `limit`).
 * @example
 * ```tsx
 * const lines = useRoomEvents('doc:1', 'chat.message');
 * ```
 */
export function useRoomEvents<T extends EventType>(roomId: string, type: T, options: UseRoomEventsOptions<T> = {}): readonly RealtimeEvent<T>[] {
  const { client, hub } = useRealtimeContext();
  const limit = options.limit ?? 50;
  const latest = useLatest(options.onEvent);
  const live = useMemo(
    () =>
      new LiveState<readonly RealtimeEvent<T>[], RealtimeEvent<T>>(
        [],
        (events, event) => (events.some((known) => known.id === event.id) ? events : [...events, event].slice(-limit)),
        () => {},
      ),
    [roomId, type, limit],
  );
  useEffect(
    () =>
      hub.listen<RealtimeEvent>(roomStreamKey(roomId), (onEvent, handlers) => client.subscribeToRoom(roomId, onEvent, handlers), {
        onEvent: (event) => {
          if (event.type !== type) return;
          const typed = event as RealtimeEvent<T>;
          live.apply(typed);
          latest.current?.(typed);
        },
      }),
    [client, hub, roomId, type, live, latest],
  );
  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
}
