/**
 * RealtimeProvider: owns one RealtimeClient (one WebSocket, or SSE streams with `transport`) and
 * one StreamHub for its subtree, and provides tRPC's React Query hooks with the same client.
 *
 * The client is made in an effect, not during render (a render may be thrown away, and a socket
 * made there would leak), and its close is deferred by one task: StrictMode's simulated unmount
 * and remount, which happen within one commit, keep the same socket instead of opening a second.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '../realtime-client.js';
import { readTokenClaims, resolveToken, type TokenSource } from '../token.js';
import { RealtimeContext, type RealtimeContextValue } from './context.js';
import { StreamHub } from './stream-hub.js';
import { trpc } from './trpc.js';
import { useLatest } from './use-latest.js';

export interface RealtimeProviderProps {
  /** The service's base URL (`http://host:port`) or `ws://host:port/trpc`. Changing it reconnects. */
  url: string;
  /**
   * A JWT, or a function returning one. A function is called on every (re)connect and may change
   * identity freely; a different token string makes a new connection (a different user).
   */
  token: TokenSource;
  /** Who is signed in. @default the token's `sub` claim */
  userId?: string;
  /** A WebSocket implementation; required in Node (pass `ws`). @default globalThis.WebSocket */
  WebSocket?: typeof WebSocket;
  /** @default a QueryClient owned by this provider */
  queryClient?: QueryClient;
  /**
   * `'websocket'`, `'http'`, `'sse'` (where WebSockets cannot go) or `'auto'` (WebSocket, falling
   * back to SSE); the hooks behave the same over each. Changing it reconnects. See
   * RealtimeClientOptions.transport.
   * @default 'websocket'
   */
  transport?: RealtimeClientOptions['transport'];
  /** An EventSource implementation for `'sse'`/`'auto'`; required in Node (the `eventsource` package). @default globalThis.EventSource */
  EventSource?: RealtimeClientOptions['EventSource'];
  /** Read when the connection is made. @default { afterFailures: 2, timeoutMs: 5000 } */
  autoFallback?: RealtimeClientOptions['autoFallback'];
  /** Read when the connection is made. @default jittered exponential backoff */
  retryDelayMs?: RealtimeClientOptions['retryDelayMs'];
  /** Read when the connection is made. @default { intervalMs: 10000, pongTimeoutMs: 5000 } */
  keepAlive?: RealtimeClientOptions['keepAlive'];
  /** Rendered for the one commit before the client exists. @default null */
  fallback?: ReactNode;
  children: ReactNode;
}

interface ClientHolder {
  readonly key: string;
  readonly client: RealtimeClient;
  readonly hub: StreamHub;
  closeTimer: ReturnType<typeof setTimeout> | undefined;
}

export function RealtimeProvider(props: RealtimeProviderProps): ReactNode {
  const { url, token, WebSocket: WebSocketImplementation, EventSource: EventSourceImplementation, transport } = props;
  const latestToken = useLatest(token);
  const latestOptions = useLatest({ retryDelayMs: props.retryDelayMs, keepAlive: props.keepAlive, autoFallback: props.autoFallback });
  const [ownQueryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1 } } }));
  const queryClient = props.queryClient ?? ownQueryClient;
  const holder = useRef<ClientHolder | null>(null);
  const [current, setCurrent] = useState<ClientHolder | null>(null);
  const tokenKey = typeof token === 'string' ? token : 'function';
  const key = JSON.stringify([url, tokenKey, transport ?? 'websocket']);

  useEffect(() => {
    let entry = holder.current;
    if (entry && entry.key === key && entry.closeTimer !== undefined) {
      clearTimeout(entry.closeTimer);
      entry.closeTimer = undefined;
    } else {
      const { retryDelayMs, keepAlive, autoFallback } = latestOptions.current;
      const client = createRealtimeClient({
        url,
        token: () => resolveToken(latestToken.current),
        ...(transport && { transport }),
        ...(WebSocketImplementation && { WebSocket: WebSocketImplementation }),
        ...(EventSourceImplementation && { EventSource: EventSourceImplementation }),
        ...(retryDelayMs && { retryDelayMs }),
        ...(keepAlive !== undefined && { keepAlive }),
        ...(autoFallback && { autoFallback }),
      });
      entry = { key, client, hub: new StreamHub(), closeTimer: undefined };
      holder.current = entry;
    }
    setCurrent(entry);
    const owned = entry;
    return () => {
      owned.closeTimer = setTimeout(() => {
        if (holder.current === owned) holder.current = null;
        owned.hub.close();
        void owned.client.close();
      }, 0);
    };
  }, [key, url, transport, WebSocketImplementation, EventSourceImplementation, latestToken, latestOptions]);

  const userId = useResolvedUserId(props.userId, token);
  const value = useMemo<RealtimeContextValue | null>(
    () => (current ? { client: current.client, hub: current.hub, userId } : null),
    [current, userId],
  );

  if (!value || !current) return props.fallback ?? null;
  return (
    <trpc.Provider client={current.client.api} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <RealtimeContext.Provider value={value}>{props.children}</RealtimeContext.Provider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}

/** The seed's name for the provider. */
export const WebSocketProvider = RealtimeProvider;

/** `userId` if given, else the `sub` of the token (read once a function token resolves). */
function useResolvedUserId(explicit: string | undefined, token: TokenSource): string | undefined {
  const fromString = typeof token === 'string' ? readTokenClaims(token)?.userId : undefined;
  const [fromFunction, setFromFunction] = useState<string | undefined>(undefined);
  const latestToken = useLatest(token);
  const needsResolving = explicit === undefined && typeof token === 'function';
  useEffect(() => {
    if (!needsResolving) return;
    let active = true;
    resolveToken(latestToken.current)
      .then((resolved) => active && setFromFunction(readTokenClaims(resolved)?.userId))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [needsResolving, latestToken]);
  return explicit ?? fromString ?? fromFunction;
}
