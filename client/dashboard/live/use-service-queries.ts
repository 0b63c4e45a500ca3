/**
 * The operator's view of the service (admin.stats, admin.presence, admin.rooms) through the
 * provider's tRPC React Query hooks, kept live by the event stream: `refreshFor(event)` marks
 * what an event changed, and the scheduler refetches each query at most a few times per second
 * however busy the service is. Slow polls remain only as a safety net (and for the uptime).
 */
import { TRPCClientError } from '@trpc/client';
import { useCallback, useEffect, useRef } from 'react';
import type { RealtimeEvent } from '../../../shared/events.js';
import { trpc } from '../../react/index.js';
import { RefreshScheduler } from './refresh-scheduler.js';

type LiveQuery = 'stats' | 'presence' | 'rooms';

/** How often each query may be refetched because of events. */
const eventRefreshIntervalMs = 400;

/** A rejected token or a missing role: retrying cannot help, the operator must sign in again. */
export function isAuthError(error: unknown): error is Error {
  return error instanceof TRPCClientError && (error.data?.code === 'UNAUTHORIZED' || error.data?.code === 'FORBIDDEN');
}

const retry = (failureCount: number, error: unknown) => !isAuthError(error) && failureCount < 3;

export function useServiceQueries() {
  const stats = trpc.admin.stats.useQuery(undefined, { refetchInterval: 5_000, retry });
  const presence = trpc.admin.presence.useQuery(undefined, { refetchInterval: 30_000, retry });
  const rooms = trpc.admin.rooms.useQuery(undefined, { refetchInterval: 30_000, retry });

  const utils = trpc.useUtils();
  // Made in the effect, not in state: StrictMode's simulated unmount disposes the first one and
  // the remount makes a fresh one, instead of leaving a disposed scheduler behind.
  const scheduler = useRef<RefreshScheduler<LiveQuery> | null>(null);
  useEffect(() => {
    const own = new RefreshScheduler<LiveQuery>((name) => void utils.admin[name].invalidate(), eventRefreshIntervalMs);
    scheduler.current = own;
    return () => {
      own.dispose();
      if (scheduler.current === own) scheduler.current = null;
    };
  }, [utils]);

  const refreshFor = useCallback((event: RealtimeEvent) => {
    const due = scheduler.current;
    if (!due) return;
    due.request('stats');
    switch (event.type) {
      case 'connected':
      case 'disconnected':
      case 'user.presence':
      case 'user.idle':
        due.request('presence');
        break;
      case 'room.joined':
      case 'room.left':
        due.request('rooms');
        break;
      case 'stream.gap':
        due.request('presence');
        due.request('rooms');
        break;
    }
  }, []);

  /** After a reconnect nothing is trusted: refetch everything once. */
  const refreshAll = useCallback(() => {
    for (const name of ['stats', 'presence', 'rooms'] as const) scheduler.current?.request(name);
  }, []);

  return { stats, presence, rooms, refreshFor, refreshAll };
}
