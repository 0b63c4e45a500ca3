/**
 * The tRPC links of each transport choice, and how each feeds the connection state:
 *
 * | transport   | subscriptions                        | queries and mutations |
 * |-------------|--------------------------------------|-----------------------|
 * | `websocket` | the WebSocket                        | the WebSocket         |
 * | `http`      | the WebSocket                        | HTTP (Bearer)         |
 * | `sse`       | SSE (httpSubscriptionLink)           | HTTP (Bearer)         |
 * | `auto`      | the WebSocket, or SSE once it fails  | HTTP (Bearer)         |
 *
 * `auto` sends calls over HTTP from the start: a network that blocks WebSockets lets them
 * through, and a call made while the WebSocket is still failing then does not wait for the
 * fallback. The WebSocket is made only by the transports that use it.
 */
import { createWSClient, httpLink, httpSubscriptionLink, splitLink, wsLink, type TRPCLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../../server/api/router.js';
import type { ConnectionStateStore, SubscriptionTransport } from '../connection-state.js';
import { resolveToken, type TokenSource } from '../token.js';
import type { ServiceEndpoints } from '../urls.js';
import { resolveEventSource, singleAttemptEventSource, type EventSourceConstructor } from './event-source.js';
import { createResubscribingLink } from './resubscribing-link.js';
import { RetryHint } from './retry-hint.js';
import { StreamStates } from './stream-states.js';
import { WebSocketFallbackWatch, type WebSocketFallbackOptions } from './websocket-fallback.js';

export type TransportChoice = 'websocket' | 'http' | 'sse' | 'auto';

export interface TransportSettings {
  transport: TransportChoice;
  endpoints: ServiceEndpoints;
  token: TokenSource;
  WebSocket: typeof WebSocket | undefined;
  EventSource: EventSourceConstructor | undefined;
  retryDelayMs: (attempt: number) => number;
  keepAlive: { enabled: boolean; intervalMs?: number; pongTimeoutMs?: number };
  autoFallback: WebSocketFallbackOptions | undefined;
}

export interface TransportSetup {
  links: TRPCLink<AppRouter>[];
  /** Ends every subscription and connection; the store is left to the caller. */
  close(): Promise<void>;
}

/** The transport the client starts on, and the store's state until something connects. */
export function initialTransport(choice: TransportChoice, WebSocketImplementation: typeof WebSocket | undefined): SubscriptionTransport {
  // `auto` in a runtime without any WebSocket (Node 20 given none) has nothing to try first.
  const noWebSocket = !WebSocketImplementation && typeof globalThis.WebSocket !== 'function';
  return choice === 'sse' || (choice === 'auto' && noWebSocket) ? 'sse' : 'websocket';
}

export function createTransport(settings: TransportSettings, store: ConnectionStateStore): TransportSetup {
  const { endpoints } = settings;
  const readToken = () => resolveToken(settings.token);
  const calls = httpLink<AppRouter>({
    url: endpoints.httpUrl,
    transformer: superjson,
    headers: async () => ({ authorization: `Bearer ${await readToken()}` }),
  });
  const bySubscription = (subscriptions: TRPCLink<AppRouter>[], other: TRPCLink<AppRouter> = calls) =>
    splitLink<AppRouter>({ condition: (operation) => operation.type === 'subscription', true: subscriptions, false: other });

  let active = initialTransport(settings.transport, settings.WebSocket);
  const streamStates = new StreamStates((state, error) => {
    if (active === 'sse') store.applyState(state, error);
  });
  const resubscribing = createResubscribingLink({ currentTransport: () => active, retryDelayMs: settings.retryDelayMs, streamStates });

  const sse = (): TRPCLink<AppRouter> =>
    httpSubscriptionLink<AppRouter, EventSourceConstructor>({
      url: endpoints.httpUrl,
      transformer: superjson,
      EventSource: singleAttemptEventSource(resolveEventSource(settings.EventSource)),
      // Read on every (re)subscription: each SSE attempt is a new request with the token as it is now.
      connectionParams: async () => ({ token: await readToken() }),
    });

  if (active === 'sse') {
    return {
      links: [bySubscription([resubscribing.link, sse()])],
      close: async () => resubscribing.closeAll(),
    };
  }

  const watch =
    settings.transport === 'auto'
      ? new WebSocketFallbackWatch(settings.autoFallback ?? {}, () => {
          active = 'sse';
          store.setTransport('sse');
          stateSubscription.unsubscribe();
          // Moved first, so the state goes from the socket's straight to the streams' (no idle between).
          resubscribing.moveAll();
          streamStates.publish();
          void wsClient.close();
        })
      : undefined;
  // Without one (Node 20 given none), createWSClient says so itself; `auto` has gone to SSE already.
  const WebSocketImplementation = settings.WebSocket ?? (globalThis.WebSocket as typeof WebSocket | undefined);
  const retryHint = new RetryHint();
  const hinted = WebSocketImplementation && retryHint.observe(WebSocketImplementation);
  const wsClient = createWSClient({
    url: endpoints.wsUrl,
    ...(hinted && { WebSocket: watch ? watch.observe(hinted) : hinted }),
    // Re-read on every (re)connect, so a refreshed token is the one the server sees.
    connectionParams: async () => ({ token: await readToken() }),
    retryDelayMs: retryHint.delay(settings.retryDelayMs),
    keepAlive: settings.keepAlive,
  });
  const stateSubscription = wsClient.connectionState.subscribe({ next: (state) => store.applyTransport(state) });
  const socket = wsLink<AppRouter>({ client: wsClient, transformer: superjson });

  const links: TRPCLink<AppRouter>[] =
    settings.transport === 'websocket'
      ? [socket]
      : settings.transport === 'http'
        ? [bySubscription([socket])]
        : [
            bySubscription([
              resubscribing.link,
              splitLink<AppRouter>({ condition: () => active === 'sse', true: sse(), false: socket }),
            ]),
          ];
  return {
    links,
    async close() {
      watch?.stop();
      resubscribing.closeAll();
      try {
        await wsClient.close();
      } finally {
        stateSubscription.unsubscribe();
      }
    },
  };
}
