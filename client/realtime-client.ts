/**
 * The vanilla client: one WebSocket (the official `createWSClient` + `wsLink`, superjson) that
 * carries every subscription, keeps itself alive, reconnects with backoff and resumes each
 * tracked subscription from its last event id; a typed tRPC proxy (`api`) of the server's
 * router; and the connection state as a closed union.
 *
 * The router type is imported as a type only, so a browser bundle contains no server code.
 */
import { createTRPCClient, createWSClient, httpLink, splitLink, wsLink, type TRPCLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/api/router.js';
import {
  ConnectionStateStore,
  type ConnectionSnapshot,
  type ConnectionState,
  type ConnectionStateListener,
} from './connection-state.js';
import { createEventStreams, type EventStreams, type RealtimeApi } from './event-streams.js';
import { createPublishers, type Publishers } from './publishing.js';
import { resolveToken, type TokenSource } from './token.js';
import { serviceEndpoints } from './urls.js';

export interface RealtimeClientOptions {
  /** The service's base URL (`http://host:port`) or its WebSocket URL (`ws://host:port/trpc`). */
  url: string;
  /** A JWT, or a function returning one; a function is called again on every (re)connect. */
  token: TokenSource;
  /**
   * Where queries and mutations travel. Subscriptions always use the WebSocket.
   * - `'websocket'`: everything over the one socket (one authentication, one ordered channel,
   *   and no CORS, since the service sends no CORS headers).
   * - `'http'`: queries and mutations over HTTP (`Authorization: Bearer`), so they work while
   *   the socket reconnects; the page must be served from the service's origin.
   * @default 'websocket'
   */
  transport?: 'websocket' | 'http';
  /** A WebSocket implementation; required in Node 20 (pass `ws`). @default globalThis.WebSocket */
  WebSocket?: typeof WebSocket;
  /** Delay before reconnect attempt `attempt` (0-based). @default jittered exponential, 250 ms doubling to 10 s */
  retryDelayMs?: (attempt: number) => number;
  /**
   * Application-level ping; a silent connection is closed and reconnected, which a dead mobile
   * or NAT'd connection would otherwise never report. `false` turns it off.
   * @default { intervalMs: 10000, pongTimeoutMs: 5000 }
   */
  keepAlive?: { intervalMs?: number; pongTimeoutMs?: number } | false;
}

export interface RealtimeClient extends EventStreams, Publishers {
  /** The typed tRPC proxy: `client.api.rooms.join.mutate({ roomId })`. */
  readonly api: RealtimeApi;
  readonly state: ConnectionState;
  /** The failure behind the current state; null when open. */
  readonly error: Error | null;
  /** The current `{ state, error }`; the same object until the state changes (for useSyncExternalStore). */
  getSnapshot(): ConnectionSnapshot;
  /** Called with `{ prev, next, error }` on every real change of state. Returns its unsubscribe. */
  onStateChange(listener: ConnectionStateListener): () => void;
  /**
   * Called whenever `getSnapshot()` changes: a state change, or the first error while still
   * connecting. The `subscribe` of `useSyncExternalStore`. Returns its unsubscribe.
   */
  subscribeToSnapshot(listener: () => void): () => void;
  /** Closes the socket and ends every subscription; the state becomes `closed`. Safe to call twice. */
  close(): Promise<void>;
}

/** Jittered exponential backoff: clients dropped together do not all come back in the same instant. */
export function defaultRetryDelayMs(attempt: number): number {
  const ceiling = Math.min(10_000, 250 * 2 ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

/**
 * @example
 * ```ts
 * const client = createRealtimeClient({ url: 'http://127.0.0.1:3000', token: () => auth.token() });
 * client.onStateChange(({ next }) => console.log('connection', next));
 * const stop = client.subscribeToEvents({ types: ['agent.progress'] }, (event) => bar.set(event.data.progress));
 * await client.api.rooms.join.mutate({ roomId: 'project:1' });
 * ```
 */
export function createRealtimeClient(options: RealtimeClientOptions): RealtimeClient {
  const endpoints = serviceEndpoints(options.url);
  const store = new ConnectionStateStore('connecting');
  const keepAlive =
    options.keepAlive === false
      ? { enabled: false }
      : { enabled: true, intervalMs: 10_000, pongTimeoutMs: 5_000, ...options.keepAlive };

  const wsClient = createWSClient({
    url: endpoints.wsUrl,
    ...(options.WebSocket && { WebSocket: options.WebSocket }),
    // Re-read on every (re)connect, so a refreshed token is the one the server sees.
    connectionParams: async () => ({ token: await resolveToken(options.token) }),
    retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
    keepAlive,
  });
  const stateSubscription = wsClient.connectionState.subscribe({ next: (transport) => store.applyTransport(transport) });

  const socketLink = wsLink<AppRouter>({ client: wsClient, transformer: superjson });
  const links: TRPCLink<AppRouter>[] =
    options.transport === 'http'
      ? [
          splitLink({
            condition: (operation) => operation.type === 'subscription',
            true: socketLink,
            false: httpLink({
              url: endpoints.httpUrl,
              transformer: superjson,
              headers: async () => ({ authorization: `Bearer ${await resolveToken(options.token)}` }),
            }),
          }),
        ]
      : [socketLink];
  const api: RealtimeApi = createTRPCClient<AppRouter>({ links });

  let closing: Promise<void> | undefined;
  return {
    api,
    ...createEventStreams(api),
    ...createPublishers(api),
    get state() {
      return store.current.state;
    },
    get error() {
      return store.current.error;
    },
    getSnapshot: () => store.current,
    onStateChange: (listener) => store.subscribe(listener),
    subscribeToSnapshot: (listener) => store.subscribeToSnapshot(listener),
    close() {
      closing ??= (async () => {
        store.markClosing();
        try {
          await wsClient.close();
        } finally {
          stateSubscription.unsubscribe();
          store.markClosed();
        }
      })();
      return closing;
    },
  };
}
