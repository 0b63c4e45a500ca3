/**
 * Typed helpers over the five subscription procedures: the handler's parameter is the event
 * union of exactly the types asked for, so no string event name escapes the compiler, and a
 * `stream.gap` notice goes to its own callback instead of widening every handler's type.
 *
 * Resumption is the official wsLink's over the WebSocket, and the resubscribing link's over SSE
 * (transports/resubscribing-link.ts): each records the id of every tracked event and resends it
 * as `lastEventId` when it resubscribes after a reconnect. Those links only know an id once an
 * event has arrived, so every stream here starts from the server's `streamHead` (stream-head.ts):
 * a drop before the first event then resumes from there too. The ids seen are also remembered
 * here (bounded), so an event that does arrive twice reaches the handler once. A room's
 * `room.membership` batch reaches handlers as the `room.joined` / `room.left` / `user.presence` /
 * `user.idle` events it lists, then as itself (shared/room-membership.ts).
 */
import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '../server/api/router.js';
import type { AgentEventType, EventType, GovernanceEventType, RealtimeEvent } from '../shared/events.js';
import { expandRoomMembership } from '../shared/membership-batches.js';
import { RecentIds } from './recent-ids.js';
import { subscribeFromStreamHead, withLastEventId } from './stream-head.js';

/** The typed tRPC proxy: every procedure of the server's router. */
export type RealtimeApi = TRPCClient<AppRouter>;

export type NotificationEventType = Extract<EventType, `notification.${string}` | `system.${string}`>;

/** Returned by every subscribe; idempotent. */
export type Unsubscribe = () => void;

export interface StreamHandlers {
  /**
   * A resumed stream could not replay everything since its last event (history evicted, or the
   * service restarted): refetch whatever state you keep instead of trusting it.
   */
  onGap?: (gap: RealtimeEvent<'stream.gap'>) => void;
  /** The subscription failed (e.g. FORBIDDEN, UNAUTHORIZED); it is over. */
  onError?: (error: Error) => void;
  /** The server accepted the subscription (again, after each reconnect). */
  onStarted?: () => void;
}

export interface EventStreamOptions<T extends EventType> extends StreamHandlers {
  /** Only these types (filtered on the server). @default every type */
  types?: readonly T[];
  /** `'all'` (admins) is every event in the service; `'mine'` is what is addressed to the caller. @default 'mine' */
  scope?: 'mine' | 'all';
}

export interface AgentStreamOptions extends StreamHandlers {
  /** One agent's events; without it, all of the caller's agents (every agent for admins). */
  agentId?: string;
}

/** What arrives in `onData` of a tracked subscription. */
interface TrackedEvent {
  id: string;
  data: RealtimeEvent;
}

interface SubscriptionCallbacks {
  onData: (tracked: TrackedEvent) => void;
  onError: (error: Error) => void;
  onStarted: () => void;
}

function callbacksFor<T extends EventType>(
  accepts: (type: EventType) => boolean,
  onEvent: (event: RealtimeEvent<T>) => void,
  handlers: StreamHandlers,
): SubscriptionCallbacks {
  const seen = new RecentIds();
  return {
    onData: ({ data: event }) => {
      if (event.type === 'stream.gap') {
        // A gap carries the resume id as its own id: it must not be mistaken for a repeat.
        handlers.onGap?.(event);
        if (accepts(event.type)) onEvent(event as RealtimeEvent<T>);
        return;
      }
      // A room's membership batch arrives as the single events it lists (each with its own id,
      // so one also replayed after a reconnect is dropped here), then as itself.
      for (const single of expandRoomMembership(event)) {
        if (seen.firstTime(single.id) && accepts(single.type)) onEvent(single as RealtimeEvent<T>);
      }
    },
    onError: (error) => handlers.onError?.(error),
    onStarted: () => handlers.onStarted?.(),
  };
}

const prefixed =
  (prefix: string) =>
  (type: EventType): boolean =>
    type.startsWith(prefix);
const anyType = (): boolean => true;
const notificationType = (type: EventType): boolean => type.startsWith('notification.') || type.startsWith('system.');

/** The typed subscribe helpers of a RealtimeClient, bound to its `api`. */
export function createEventStreams(api: RealtimeApi) {
  return {
    /** Everything addressed to the caller (or the whole service with `scope: 'all'`), narrowed to `types`. */
    subscribeToEvents<T extends EventType = EventType>(
      options: EventStreamOptions<T>,
      onEvent: (event: RealtimeEvent<T>) => void,
    ): Unsubscribe {
      const { types, scope, ...handlers } = options;
      const wanted = types ? new Set<EventType>(types) : undefined;
      const accepts = wanted ? (type: EventType) => wanted.has(type) : anyType;
      const input = { ...(types && { types: [...types] }), ...(scope && { scope }) };
      const callbacks = callbacksFor(accepts, onEvent, handlers);
      return subscribeFromStreamHead(api, (head) => api.onEvent.subscribe(withLastEventId(input, head), callbacks));
    },

    /** Every event of a room; the caller is a member of the room while subscribed. */
    subscribeToRoom(roomId: string, onEvent: (event: RealtimeEvent) => void, handlers: StreamHandlers = {}): Unsubscribe {
      const callbacks = callbacksFor(anyType, onEvent, handlers);
      return subscribeFromStreamHead(api, (head) => api.onRoom.subscribe(withLastEventId({ roomId }, head), callbacks));
    },

    /**
     * The caller's agents' events, or one agent's. With `agentId` the server replays the agent's
     * current run from its start whenever no `lastEventId` is given, on every (re)subscription:
     * that replay is what a late subscriber needs, and it already covers a drop before the first
     * event, so this one stream does not start from the head.
     */
    subscribeToAgent(options: AgentStreamOptions, onEvent: (event: RealtimeEvent<AgentEventType>) => void): Unsubscribe {
      const { agentId, ...handlers } = options;
      const callbacks = callbacksFor(prefixed('agent.'), onEvent, handlers);
      if (agentId !== undefined) {
        const subscription = api.onAgent.subscribe({ agentId }, callbacks);
        return () => subscription.unsubscribe();
      }
      return subscribeFromStreamHead(api, (head) => api.onAgent.subscribe(withLastEventId({}, head), callbacks));
    },

    subscribeToGovernance(onEvent: (event: RealtimeEvent<GovernanceEventType>) => void, handlers: StreamHandlers = {}): Unsubscribe {
      const callbacks = callbacksFor(prefixed('governance.'), onEvent, handlers);
      return subscribeFromStreamHead(api, (head) => api.onGovernance.subscribe(withLastEventId({}, head), callbacks));
    },

    /** The caller's notification.* events and system.* broadcasts. */
    subscribeToNotifications(
      onEvent: (event: RealtimeEvent<NotificationEventType>) => void,
      handlers: StreamHandlers = {},
    ): Unsubscribe {
      const callbacks = callbacksFor(notificationType, onEvent, handlers);
      return subscribeFromStreamHead(api, (head) => api.onNotification.subscribe(withLastEventId({}, head), callbacks));
    },
  };
}

export type EventStreams = ReturnType<typeof createEventStreams>;
