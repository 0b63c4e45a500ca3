/**
 * Test support: a real server on port 0 and official @trpc/client connections to it.
 * Every resource a test opens is closed by `stop()`.
 */
import { createTRPCClient, createWSClient, httpLink, wsLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';
import type { AppRouter } from '../../server/api/router.js';
import { createRealtimeServer, defaultConfig, type RealtimeServer, type ServerConfig } from '../../server/index.js';

export const testSecret = 'test-secret-0123456789abcdef';

export interface TestClient {
  api: TRPCClient<AppRouter>;
  wsClient: ReturnType<typeof createWSClient>;
  close(): void;
}

export interface TestServer {
  server: RealtimeServer;
  url: string;
  wsUrl: string;
  token(userId: string, role?: 'user' | 'admin' | 'service', expiresIn?: string | number): Promise<string>;
  /** An official client over WebSocket, token in connectionParams. */
  connect(token: string | undefined, options?: { retryDelayMs?: number }): TestClient;
  /** An official client over HTTP, token as a Bearer header. */
  http(token: string | undefined): TRPCClient<AppRouter>;
  stop(): Promise<void>;
}

export async function startServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const errors: unknown[] = [];
  const server = createRealtimeServer({
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
    token: (userId, role = 'user', expiresIn = '1h') => server.tokens.sign(userId, role, expiresIn),
    connect(token, options = {}) {
      const wsClient = createWSClient({
        url: wsUrl,
        WebSocket: WebSocket as never,
        connectionParams: async () => (token === undefined ? {} : { token }),
        retryDelayMs: () => options.retryDelayMs ?? 50,
      });
      const client: TestClient = {
        api: createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] }),
        wsClient,
        close: () => {
          clients.delete(client);
          void wsClient.close();
        },
      };
      clients.add(client);
      return client;
    },
    http(token) {
      return createTRPCClient<AppRouter>({
        links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: token ? { authorization: `Bearer ${token}` } : {} })],
      });
    },
    async stop() {
      for (const client of [...clients]) client.close();
      await server.close();
    },
  };
}
