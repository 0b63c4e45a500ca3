/**
 * The vanilla client: its subscriptions over one WebSocket (the official `createWSClient` +
 * `wsLink`, superjson) or, where WebSockets cannot go, over Server-Sent Events (the official
 * `httpSubscriptionLink`); kept alive, reconnected with backoff, each tracked subscription
 * resumed from its last event id; a typed tRPC proxy (`api`) of the server's router; and the
 * connection state as a closed union, the same whichever transport carries it.
 *
 * The router type is imported as a type only, so a browser bundle contains no server code.
 */
import { createTRPCClient } from '@trpc/client';
import {
  ConnectionStateStore,
  type ConnectionSnapshot,
  type ConnectionState,
  type ConnectionStateListener,
  type SubscriptionTransport,
} from './connection-state.js';
import { createEventStreams, type EventStreams, type RealtimeApi } from './event-streams.js';
import { createPublishers, type Publishers } from './publishing.js';
import type { TokenSource } from './token.js';
import type { EventSourceConstructor } from './transports/event-source.js';
import { createTransport, initialTransport, type TransportChoice } from './transports/transport-setup.js';
import type { WebSocketFallbackOptions } from './transports/websocket-fallback.js';
import { serviceEndpoints } from './urls.js';

export interface RealtimeClientOptions {
  /** The service's base URL (`http://host:port`) or its WebSocket URL (`ws://host:port/trpc`). */
  url: string;
  /** A JWT, or a function returning one; a function is called again on every (re)connect. */
  token: TokenSource;
  /**
   * How subscriptions, queries and mutations travel.
   * - `'websocket'`: everything over the one socket (one authentication, one ordered channel,
   *   and no CORS, since the service sends no CORS headers).
   * - `'http'`: subscriptions over the WebSocket; queries and mutations over HTTP
   *   (`Authorization: Bearer`), so they work while the socket reconnects.
   * - `'sse'`: no WebSocket at all, for networks that break them: each subscription is a
   *   Server-Sent Events stream (the token goes as tRPC `connectionParams` in its URL, since
   *   EventSource cannot set headers), queries and mutations go over HTTP. The service pings
   *   every stream every 10 s; a stream silent for 30 s, or dropped, is resubscribed with
   *   backoff, a freshly read token and its last event id. Each stream is a connection to the
   *   service: the user is online (and may set presence) while at least one is open; with no
   *   subscription there is no connection, and the state is `idle`.
   * - `'auto'`: subscriptions over the WebSocket, moved to SSE (resuming from their last event
   *   ids) if the WebSocket cannot connect before it has ever opened (see `autoFallback`); the
   *   client then stays on SSE until it is closed. Once a socket has opened, a later failure is
   *   reconnected as with `'websocket'`. Queries and mutations over HTTP from the start.
   *
   * Every choice but `'websocket'` makes HTTP requests to the service: the page must be served
   * from the service's origin (or a proxy in front of both).
   * @default 'websocket'
   */
  transport?: TransportChoice;
  /** A WebSocket implementation; required in Node 20 (pass `ws`). @default globalThis.WebSocket */
  WebSocket?: typeof WebSocket;
  /**
   * An EventSource implementation, for `'sse'` and `'auto'`; required in Node (pass
   * `EventSource` from the `eventsource` package). @default globalThis.EventSource
   */
  EventSource?: EventSourceConstructor;
  /** When `'auto'` gives up on the WebSocket. @default { afterFailures: 2, timeoutMs: 5000 } */
  autoFallback?: WebSocketFallbackOptions;
  /**
   * Delay before reconnect attempt `attempt` (0-based), of the WebSocket or of an SSE stream. A
   * WebSocket the service refused or shut down with a retry hint waits at least the hint.
   * @default jittered exponential, 250 ms doubling to 10 s
   */
  retryDelayMs?: (attempt: number) => number;
  /**
   * Application-level ping of the WebSocket; a silent connection is closed and reconnected,
   * which a dead mobile or NAT'd connection would otherwise never report. `false` turns it off.
   * (SSE streams are kept alive by the service's pings.)
   * @default { intervalMs: 10000, pongTimeoutMs: 5000 }
   */
  keepAlive?: { intervalMs?: number; pongTimeoutMs?: number } | false;
}

export interface RealtimeClient extends EventStreams, Publishers {
  /** The typed tRPC proxy: `client.api.rooms.join.mutate({ roomId })`. */
  readonly api: RealtimeApi;
  readonly state: ConnectionState;
  /** What carries the subscriptions now (`'auto'` starts on `'websocket'` and may move to `'sse'`). */
  readonly transport: SubscriptionTransport;
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
  /** Closes the socket (or the streams) and ends every subscription; the state becomes `closed`. Safe to call twice. */
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
  const choice = options.transport ?? 'websocket';
  const first = initialTransport(choice, options.WebSocket);
  // Over SSE nothing connects before the first subscription.
  const store = new ConnectionStateStore(first === 'sse' ? 'idle' : 'connecting', first);
  const transport = createTransport(
    {
      transport: choice,
      endpoints,
      token: options.token,
      WebSocket: options.WebSocket,
      EventSource: options.EventSource,
      retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
      keepAlive:
        options.keepAlive === false
          ? { enabled: false }
          : { enabled: true, intervalMs: 10_000, pongTimeoutMs: 5_000, ...options.keepAlive },
      autoFallback: options.autoFallback,
    },
    store,
  );
  const api: RealtimeApi = createTRPCClient({ links: transport.links });

  let closing: Promise<void> | undefined;
  return {
    api,
    ...createEventStreams(api),
    ...createPublishers(api),
    get state() {
      return store.current.state;
    },
    get transport() {
      return store.current.transport;
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
          await transport.close();
        } finally {
          store.markClosed();
        }
      })();
      return closing;
    },
  };
}
