/**
 * usePresence: one user's presence (the signed-in user by default), from `presence.get` in the
 * React Query cache, kept live by the `user.presence` / `user.idle` events the caller receives
 * (those of users in a shared room) and by the caller's own `updatePresence`. Others' changes
 * outside shared rooms reach no stream of the caller's, so the query also refetches slowly.
 */
import { useEffect } from 'react';
import type { RealtimeEvent } from '../../shared/events.js';
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import { useRealtimeContext } from './context.js';
import { applyPresenceEvent, isPresenceEvent } from './presence-events.js';
import { trpc } from './trpc.js';
import { eventStreamKey } from './use-event.js';

export interface UsePresenceOptions {
  /** Refetch interval for changes no stream reports. `false` turns it off. @default 30000 */
  refetchIntervalMs?: number | false;
}

export interface PresenceState {
  presence: UserPresence | undefined;
  /** `presence.status`, undefined until loaded. */
  status: PresenceStatus | undefined;
  isLoading: boolean;
  error: Error | null;
}

export function usePresence(userId?: string, options: UsePresenceOptions = {}): PresenceState {
  const { client, hub, userId: self } = useRealtimeContext();
  const target = userId ?? self;
  const utils = trpc.useUtils();
  const query = trpc.presence.get.useQuery(
    { userId: target ?? '' },
    { enabled: target !== undefined, refetchInterval: options.refetchIntervalMs ?? 30_000 },
  );

  useEffect(() => {
    if (target === undefined) return;
    return hub.listen<RealtimeEvent>(
      eventStreamKey('mine'),
      (onEvent, handlers) => client.subscribeToEvents({ scope: 'mine', ...handlers }, onEvent),
      {
        onEvent: (event) => {
          if (!isPresenceEvent(event) || event.data.userId !== target) return;
          utils.presence.get.setData({ userId: target }, (known) => (known ? applyPresenceEvent(known, event) : known));
          // Without a snapshot there is nothing to fold into: fetch one.
          if (!utils.presence.get.getData({ userId: target })) void utils.presence.get.invalidate({ userId: target });
        },
        // After a reconnect, what changed while away is in no event we will get: refetch.
        onStarted: () => void utils.presence.get.invalidate({ userId: target }),
      },
    );
  }, [client, hub, target, utils]);

  const presence = target === undefined ? undefined : query.data;
  // At run time the query's error is a TRPCClientError, an Error; its declared type is only error-like.
  return { presence, status: presence?.status, isLoading: query.isLoading, error: query.error as Error | null };
}
