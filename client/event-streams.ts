/**
 * Typed helpers over the five subscription procedures: the handler's parameter is the event
 * union of exactly the types asked for, so no string event name escapes the compiler, and a
 * `stream.gap` notice goes to its own callback instead of widening every handler's type.
 *
 * Resumption is the official wsLink's over the WebSocket, and the resubscribing link's over SSE
 * (transports/resubscribing-link.ts): each records the id of every tracked event and resends it
 * as `lastEventId` when it resubscribes after a reconnect. The ids seen are also remembered here
 * (bounded), so an event that does arrive twice reaches the handler once.
 */
import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '../server/api/router.js';
import type { AgentEventType, EventType, GovernanceEventType, RealtimeEvent } from '../shared/events.js';
import { RecentIds } from './recent-ids.js';

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
      if (!seen.firstTime(event.id) || !accepts(event.type)) return;
      onEvent(event as RealtimeEvent<T>);
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
      const subscription = api.onEvent.subscribe(input, callbacksFor(accepts, onEvent, handlers));
      return () => subscription.unsubscribe();
    },

    /** Every event of a room; the caller is a member of the room while subscribed. */
    subscribeToRoom(roomId: string, onEvent: (event: RealtimeEvent) => void, handlers: StreamHandlers = {}): Unsubscribe {
      const subscription = api.onRoom.subscribe({ roomId }, callbacksFor(anyType, onEvent, handlers));
      return () => subscription.unsubscribe();
    },

    subscribeToAgent(options: AgentStreamOptions, onEvent: (event: RealtimeEvent<AgentEventType>) => void): Unsubscribe {
      const { agentId, ...handlers } = options;
      const input = agentId === undefined ? undefined : { agentId };
      const subscription = api.onAgent.subscribe(input, callbacksFor(prefixed('agent.'), onEvent, handlers));
      return () => subscription.unsubscribe();
    },

    subscribeToGovernance(onEvent: (event: RealtimeEvent<GovernanceEventType>) => void, handlers: StreamHandlers = {}): Unsubscribe {
      const subscription = api.onGovernance.subscribe(undefined, callbacksFor(prefixed('governance.'), onEvent, handlers));
      return () => subscription.unsubscribe();
    },

    /** The caller's notification.* events and system.* broadcasts. */
    subscribeToNotifications(
      onEvent: (event: RealtimeEvent<NotificationEventType>) => void,
      handlers: StreamHandlers = {},
    ): Unsubscribe {
      const subscription = api.onNotification.subscribe(undefined, callbacksFor(notificationType, onEvent, handlers));
      return () => subscription.unsubscribe();
    },
  };
}

export type EventStreams = ReturnType<typeof createEventStreams>;
