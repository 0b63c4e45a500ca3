/**
 * useEvent: call a handler for every event of the given type(s) addressed to the caller. The
 * handler's parameter is narrowed to exactly those types, and the type names are checked by the
 * compiler. All useEvent callers of a provider share one `onEvent` subscription per scope.
 */
import { useEffect } from 'react';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { useRealtimeContext } from './context.js';
import { useLatest } from './use-latest.js';

export interface UseEventOptions {
  /** `'all'` is every event in the service (role admin); `'mine'` what is addressed to the caller. @default 'mine' */
  scope?: 'mine' | 'all';
  /** Called if the subscription fails (e.g. FORBIDDEN for scope 'all'). */
  onError?: (error: Error) => void;
}

/** The hub key of the shared event stream of a scope. */
export const eventStreamKey = (scope: 'mine' | 'all') => `onEvent:${scope}`;

/**
 * @example
 * ```tsx
 * useEvent('notification.new', (event) => toast(event.data.title));
 * useEvent(['agent.progress', 'agent.complete'], (event) => {
 *   if (event.type === 'agent.progress') setProgress(event.data.progress);
 * });
 * ```
 */
export function useEvent<T extends EventType>(
  types: T | readonly T[],
  handler: (event: RealtimeEvent<T>) => void,
  options: UseEventOptions = {},
): void {
  const { client, hub } = useRealtimeContext();
  const scope = options.scope ?? 'mine';
  const latest = useLatest({ types, handler, onError: options.onError });

  useEffect(
    () =>
      hub.listen<RealtimeEvent>(
        eventStreamKey(scope),
        (onEvent, handlers) => client.subscribeToEvents({ scope, ...handlers }, onEvent),
        {
          onEvent: (event) => {
            const { types: wanted, handler: current } = latest.current;
            const matches = typeof wanted === 'string' ? event.type === wanted : wanted.includes(event.type as T);
            if (matches) current(event as RealtimeEvent<T>);
          },
          onError: (error) => latest.current.onError?.(error),
        },
      ),
    [client, hub, scope, latest],
  );
}
