/** A real server on port 0 in this process that keeps every error it reports, for hostile-input tests. */
import { createRealtimeServer, defaultConfig, type RealtimeServer, type ServerConfig } from '../../../server/index.js';

export interface GuardedServer {
  server: RealtimeServer;
  url: string;
  wsUrl: string;
  /** Errors the server reported through onError, with their context (INTERNAL_SERVER_ERROR answers among them). */
  reported: Array<{ context: string; error: unknown }>;
  token(userId: string, role?: 'user' | 'admin' | 'service'): Promise<string>;
  stop(): Promise<void>;
}

export async function startGuardedServer(overrides: Partial<ServerConfig> = {}): Promise<GuardedServer> {
  const reported: GuardedServer['reported'] = [];
  const server = createRealtimeServer({
    config: defaultConfig({ port: 0, ...overrides }),
    authSecret: 'hostile-input-secret-0123456789',
    onError: (error, context) => reported.push({ context, error }),
  });
  const { url, wsUrl } = await server.listen();
  return {
    server,
    url,
    wsUrl,
    reported,
    token: (userId, role = 'user') => server.tokens.sign(userId, role, '24h', { rooms: ['*'] }),
    stop: () => server.close(),
  };
}

/** Procedure errors a client may see; INTERNAL_SERVER_ERROR is a bug (a crash found), never an answer. */
export const clientErrorCodes = new Set([
  'PARSE_ERROR',
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_SUPPORTED',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNPROCESSABLE_CONTENT',
  'TOO_MANY_REQUESTS',
  'SERVICE_UNAVAILABLE',
]);
