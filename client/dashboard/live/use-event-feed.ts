/**
 * The firehose (useEvent over every type with scope 'all', admins only) into a bounded feed
 * store, each event also handed to `onEvent` (the panels' refresh). The feed opens with the
 * service's recent history (admin.history), so an operator sees what just happened.
 *
 * After a reconnect the official wsLink resubscribes with the last event id, so the feed goes
 * on without a hole; a `stream.gap` says when it could not. The store keeps each id once, which
 * also absorbs the overlap between the history page and the first live events.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { eventTypes, type RealtimeEvent } from '../../../shared/events.js';
import { useEvent, useRealtimeClient } from '../../react/index.js';
import { EventFeedStore, type EventFeedSnapshot } from './event-feed-store.js';

/** Events of the recent past shown when the page opens. */
const recentHistoryLength = 200;

export interface EventFeed extends EventFeedSnapshot {
  /** The subscription's failure (it is over), e.g. FORBIDDEN for a non-admin token. */
  error: Error | null;
  /** A resumed stream could not replay everything; the feed may miss events before this time. */
  lastGapAt: Date | null;
  clear(): void;
}

export function useEventFeed(onEvent: (event: RealtimeEvent) => void): EventFeed {
  const [store] = useState(() => new EventFeedStore({ capacity: 500 }));
  const [error, setError] = useState<Error | null>(null);
  const [lastGapAt, setLastGapAt] = useState<Date | null>(null);
  const client = useRealtimeClient();
  useEffect(() => () => store.dispose(), [store]);

  useEffect(() => {
    let active = true;
    client.api.admin.history
      .query({ limit: recentHistoryLength })
      .then((events) => active && store.addMany(events))
      // Only a head start: the live stream works without it, and auth failures surface there.
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [client, store]);

  useEvent(
    eventTypes,
    (event) => {
      if (event.type === 'stream.gap') setLastGapAt(event.timestamp);
      store.add(event);
      onEvent(event);
    },
    { scope: 'all', onError: setError },
  );

  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot);
  return { ...snapshot, error, lastGapAt, clear: () => store.clear() };
}
