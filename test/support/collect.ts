/** Subscribes with the official client and collects what arrives, for assertions. */
import type { RealtimeEvent } from '../../shared/events.js';
import { expandRoomMembership } from '../../shared/membership-batches.js';

export interface Collected {
  events: RealtimeEvent[];
  /**
   * The tracked id of the last event (tRPC's `onData` gets `{ id, data }`): what the official
   * wsLink sends back as `lastEventId` when it resubscribes. With REDIS_CLUSTER_URLS it is a
   * cursor over partitions, not the event's own id.
   */
  lastTrackedId: string | undefined;
  errors: unknown[];
  started: boolean;
  unsubscribe(): void;
}

type Subscribable = {
  subscribe(
    input: never,
    options: {
      onData: (value: { id: string; data: RealtimeEvent }) => void;
      onError: (error: unknown) => void;
      onStarted: () => void;
    },
  ): { unsubscribe(): void };
};

export function collect<I>(procedure: { subscribe: (input: I, options: never) => { unsubscribe(): void } }, input: I): Collected {
  const collected: Collected = { events: [], lastTrackedId: undefined, errors: [], started: false, unsubscribe: () => {} };
  const subscription = (procedure as unknown as Subscribable).subscribe(input as never, {
    // A room's membership batch is collected as the single events it lists, then itself.
    onData: (value) => {
      collected.events.push(...expandRoomMembership(value.data));
      collected.lastTrackedId = value.id;
    },
    onError: (error) => collected.errors.push(error),
    onStarted: () => (collected.started = true),
  });
  collected.unsubscribe = () => subscription.unsubscribe();
  return collected;
}

export const ofType = (events: RealtimeEvent[], type: RealtimeEvent['type']) => events.filter((event) => event.type === type);
