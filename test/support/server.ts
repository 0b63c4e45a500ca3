/**
 * Test support: a real server on port 0 and official @trpc/client connections to it.
 * Every resource a test opens is closed by `stop()`.
 */
import { createTRPCClient, createWSClient, httpLink, httpSubscriptionLink, splitLink, wsLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import WebSocket from 'ws';
import type { AppRouter } from '../../server/api/router.js';
import { TokenService, createRealtimeServer, defaultConfig, type RealtimeServer, type RealtimeServerOptions, type ServerConfig } from '../../server/index.js';

export const testSecret = 'test-secret-0123456789abcdef';
/** The `rooms` claim test users get by default: every room. */
export const everyRoom: readonly string[] = ['*'];

/**
 * Signs as the tests' servers do, for tests that talk to server processes: user tokens reach
 * every room unless `rooms` says otherwise.
 */
export function testTokens(secret = testSecret) {
  const tokens = new TokenService(secret);
  return {
    sign: (userId: string, role: 'user' | 'admin' | 'service' = 'user', expiresIn: string | number = '24h', options: { rooms?: readonly string[] } = {}) =>
      tokens.sign(userId, role, expiresIn, { rooms: options.rooms ?? everyRoom }),
  };
}

export type TransportName = 'ws' | 'sse';
/** The transports every subscription check runs over. */
export const transports: TransportName[] = ['ws', 'sse'];

export interface TestClient {
  api: TRPCClient<AppRouter>;
  close(): void;
}

export interface TestServer {
  server: RealtimeServer;
  url: string;
  wsUrl: string;
  /**
   * A token signed by the server. Test users reach every room (`rooms: ['*']`) unless `rooms`
   * says otherwise (`[]`: none but OPEN_ROOMS and the authorizer's).
   */
  token(userId: string, role?: 'user' | 'admin' | 'service', expiresIn?: string | number, options?: { rooms?: readonly string[] }): Promise<string>;
  /**
   * An official client: over WebSocket (token in connectionParams), or with `transport: 'sse'`
   * subscriptions over SSE (httpSubscriptionLink, token in connectionParams) and calls over HTTP.
   */
  connect(token: string | undefined, options?: { retryDelayMs?: number; transport?: TransportName }): TestClient;
  /** Drops every client connection, WebSocket and HTTP alike, as a network failure would. */
  dropAll(): void;
  /** An official client over HTTP, token as a Bearer header. */
  http(token: string | undefined): TRPCClient<AppRouter>;
  stop(): Promise<void>;
}

export async function startServer(overrides: Partial<ServerConfig> = {}, options: Partial<Omit<RealtimeServerOptions, 'events'>> = {}): Promise<TestServer> {
  const errors: unknown[] = [];
  const server = createRealtimeServer({
    ...options,
    config: defaultConfig({ port: 0, ...overrides }),
    authSecret: testSecret,
    onError: (error) => errors.push(error),
  });
  const { url, wsUrl } = await server.listen();
  const clients = new Set<TestClient>();
  return {
    server,
    url,
    wsUrl,
    token: (userId, role = 'user', expiresIn = '1h', options = {}) => server.tokens.sign(userId, role, expiresIn, { rooms: options.rooms ?? everyRoom }),
    connect(token, options = {}) {
      const client = options.transport === 'sse' ? sseClient(url, token) : wsClient(wsUrl, token, options.retryDelayMs ?? 50);
      const tracked: TestClient = {
        api: client.api,
        close: () => {
          clients.delete(tracked);
          client.close();
        },
      };
      clients.add(tracked);
      return tracked;
    },
    dropAll() {
      server.transport.dropAll();
      server.httpServer.closeAllConnections();
    },
    http: (token) => httpClient(url, token),
    async stop() {
      for (const client of [...clients]) client.close();
      await server.close();
    },
  };
}

/** An official client over WebSocket to any server (other processes too). */
export function wsClient(wsUrl: string, token: string | undefined, retryDelayMs = 50, WebSocketClass: new (address: string, protocols?: string | string[]) => WebSocket = WebSocket): TestClient {
  const client = createWSClient({
    url: wsUrl,
    WebSocket: WebSocketClass as never,
    connectionParams: async () => (token === undefined ? {} : { token }),
    retryDelayMs: () => retryDelayMs,
  });
  return {
    api: createTRPCClient<AppRouter>({ links: [wsLink({ client, transformer: superjson })] }),
    close: () => void client.close(),
  };
}

function sseClient(url: string, token: string | undefined): TestClient {
  // Every EventSource the link opens, so that close() ends them all like closing a socket would.
  const sources = new Set<EventSource>();
  class TrackedEventSource extends EventSource {
    constructor(...args: ConstructorParameters<typeof EventSource>) {
      super(...args);
      sources.add(this);
    }
    override close() {
      sources.delete(this);
      super.close();
    }
  }
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const api = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          transformer: superjson,
          EventSource: TrackedEventSource,
          connectionParams: token === undefined ? undefined : { token },
        }),
        false: httpLink({ url: `${url}/trpc`, transformer: superjson, headers }),
      }),
    ],
  });
  return { api, close: () => [...sources].forEach((source) => source.close()) };
}

/** An official client over HTTP to any server, token as a Bearer header. */
export function httpClient(url: string, token: string | undefined): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: token ? { authorization: `Bearer ${token}` } : {} })],
  });
}
