/**
 * One port for everything: tRPC over HTTP and WebSocket at `/trpc`, `GET /healthz`,
 * `GET /readyz`, `GET /metrics`, and the built dashboard at `/` when it exists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { TokenService, bearerToken } from '../api/auth.js';
import { createApiContext } from '../api/context.js';
import { RateLimits } from '../api/rate-limit.js';
import { RoomAccess, type RoomAuthorizer } from '../api/room-access.js';
import { RoomAccessSweep } from '../api/room-access-sweep.js';
import { appRouter } from '../api/router.js';
import type { EventBus } from '../bus/bus.js';
import { defaultConfig, type ServerConfig } from '../config.js';
import type { Backend } from '../cluster/backend.js';
import { backendFromConfig } from '../cluster/from-config.js';
import { createMemoryBackend } from '../cluster/memory-backend.js';
import { EventCatalog } from '../core/event-catalog.js';
import type { AppEventDefinitions } from '../../shared/app-events.js';
import type { CheckedAppEvents } from './app-events-check.js';
import { createRealtimeServices, type RealtimeServices } from '../core/service.js';
import { storeFromConfig } from '../store/from-config.js';
import { WsTransport } from '../transport/ws-transport.js';
import { RefusalLog, isPeerError, type RefusalRecord } from '../logging/refusal-log.js';
import { createMetrics } from './metrics.js';
import { createMetricsHandler, startMetricsServer } from './metrics-endpoint.js';
import { createStaticHandler } from './static-files.js';
import { setSecurityHeaders } from './security-headers.js';
import { createOriginPolicy } from './cors.js';
import { limitConnections, socketTimeouts } from './connection-limits.js';

/** The backend a server runs on; the name under which the package exported it first. */
export type RealtimeServerCluster = Backend;

export interface RealtimeServerOptions<Events extends AppEventDefinitions = AppEventDefinitions> {
  /** The secret HS256 tokens are signed with, at least 16 characters (main.ts makes one in development). */
  authSecret: string;
  /**
   * What `npm start` reads from the environment (`loadConfig()`: HOST, PORT, REDIS_URL,
   * CORS_ORIGINS, limits…), key by key; a key left out keeps its default.
   * @default defaultConfig(): 127.0.0.1:3000, the in-memory bus, same-origin browsers only
   */
  config?: Partial<ServerConfig>;
  /**
   * The app's own event types, added to the built-in catalog: a name and a zod schema each,
   * `clientPublishable` (room members may `rooms.publish` it) and `ephemeral` (never replayed).
   * A name that collides with a built-in type or category throws here. Register the same
   * object for the compiler (shared/app-events.ts) and every client type carries it.
   * @default {}
   */
  events?: Events;
  /**
   * What the service runs on: the bus, rooms and presence, claim-once, idempotency keys and rate
   * limits (see server/cluster/backend.ts).
   * @default in memory, or over Redis when `config.redisUrl` is set (cluster/from-config.ts)
   */
  backend?: Backend;
  /** The same as `backend` (its first name). */
  cluster?: RealtimeServerCluster;
  /** The embedded backend over this bus instead of its own. Ignored when `backend` is given. */
  bus?: EventBus;
  /** Directory of the built dashboard; served at `/` when it exists. */
  staticDirectory?: string;
  onError?: (error: unknown, context: string) => void;
  /**
   * Decides rooms that neither the token's `rooms` claim nor `OPEN_ROOMS` admits. Its answers are
   * cached for `roomAuthorizerCacheMs`, and asked again at that period for rooms users hold: a
   * changed answer takes a member out within about that long.
   * @example authorizeRoom: async ({ user, roomId, action }) => db.isMember(user.userId, roomId)
   */
  authorizeRoom?: RoomAuthorizer;
  /** @default 5000 */
  roomAuthorizerCacheMs?: number;
  /**
   * Where refused input is logged (bad frames, protocol errors, peers gone mid-handshake): a few
   * lines per 10 s, the rest counted (see logging/refusal-log). @default console.warn
   */
  logRefusal?: (record: RefusalRecord, message: string) => void;
}

export interface RealtimeServer {
  readonly services: RealtimeServices;
  readonly tokens: TokenService;
  readonly httpServer: Server;
  readonly transport: WsTransport;
  /** Who may do what in a room, and the sweep that takes access back (`sweep()` runs one pass now). */
  readonly roomAccess: RoomAccess;
  readonly roomAccessSweep: RoomAccessSweep;
  /** Refused input (unauthenticated sockets, bad frames, oversized calls), logged below error level and rate-limited. */
  readonly refusals: RefusalLog;
  /** Starts listening; resolves with the bound port (use port 0 for a free one). */
  listen(): Promise<{ port: number; url: string; wsUrl: string; metricsUrl: string }>;
  /** Graceful: stops accepting, asks clients to reconnect, closes connections and the bus. */
  close(): Promise<void>;
}

/**
 * The whole service on one port, for an app's own server file or `npm start`.
 * @example
 * ```ts
 * const server = createRealtimeServer({ authSecret: process.env.AUTH_SECRET!, events, config: { port: 3000 } });
 * const { url } = await server.listen();
 * ```
 */
export function createRealtimeServer<const Events extends AppEventDefinitions = {}>(
  options: RealtimeServerOptions<Events> & { events?: CheckedAppEvents<Events> },
): RealtimeServer {
  const config = defaultConfig(options.config);
  const onError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
  // Checked before anything opens a connection: a bad app event name fails the start, not a request.
  const catalog = new EventCatalog(options.events);
  const backend =
    options.backend ??
    options.cluster ??
    (options.bus === undefined
      ? backendFromConfig(config, onError)
      : createMemoryBackend({
          bus: options.bus,
          idleAfterMs: config.idleAfterMs,
          typingExpireMs: config.typingExpireMs,
          idempotencyWindowMs: config.idempotencyWindowMs,
          rateLimit: { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
          onError,
        }));
  const refusals = new RefusalLog({ ...(options.logRefusal && { write: options.logRefusal }) });
  // What a peer causes (a protocol violation, a reset) is a refusal, not an error of the service.
  const onTransportError = (error: unknown, context: string) => (isPeerError(error) ? refusals.refused(context, error) : onError(error, context));
  const { bus } = backend;
  const services = createRealtimeServices({
    catalog,
    bus,
    idleAfterMs: config.idleAfterMs,
    typingExpireMs: config.typingExpireMs,
    ephemeralHz: config.ephemeralHz,
    membershipBatchMs: config.membershipBatchMs,
    roomPresenceDetailMax: config.roomPresenceDetailMax,
    roomSummaryMs: config.roomSummaryMs,
    governanceExpiresInMs: config.governanceExpiresMs,
    agentOutputMaxBytes: config.agentOutputMaxBytes,
    maxConnectionsPerUser: config.maxConnectionsPerUser,
    idempotency: backend.idempotency,
    membership: backend.membership,
    decisionClaims: backend.decisionClaims,
    store: storeFromConfig(config, (type) => catalog.isEphemeral(type), onError),
    onError,
  });
  const tokens = new TokenService({
    secret: options.authSecret,
    maxLifetimeSeconds: config.authMaxTokenLifetimeSeconds,
    roleClaim: config.authRoleClaim,
    ...(config.authJwksUrl !== undefined && { jwksUrl: config.authJwksUrl }),
    ...(config.authIssuer !== undefined && { issuer: config.authIssuer }),
    ...(config.authAudience !== undefined && { audience: config.authAudience }),
  });
  const roomAccess = new RoomAccess({
    openRooms: config.openRooms,
    ...(options.authorizeRoom && { authorize: options.authorizeRoom }),
    ...(options.roomAuthorizerCacheMs !== undefined && { cacheTtlMs: options.roomAuthorizerCacheMs }),
  });
  const roomAccessSweep = new RoomAccessSweep(roomAccess, services.core, onError);
  const rateLimits = new RateLimits(backend.rateLimits);
  const dependencies = { services, tokens, rateLimits, roomAccess, roomAccessSweep };

  const transport = new WsTransport(
    {
      maxPayloadBytes: config.maxPayloadBytes,
      maxFrameBytes: config.maxFrameBytes,
      authTimeoutMs: config.authTimeoutMs,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxBufferedBytes: config.maxBufferedBytes,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      // Below MAX_CONNECTIONS (where Node drops sockets unanswered), so a WebSocket past it is refused with a retry hint.
      maxConnections: Math.max(1, config.maxConnections - 16),
      reconnectSpreadMs: config.reconnectSpreadMs,
      keepAlivePingMs: config.keepAlivePingMs,
      floodFramesPerSecond: 4 * (config.rateLimitPerSecond + config.rateLimitBurst),
    },
    {
      router: appRouter,
      services,
      rateLimits,
      createContext: (token, connectionId) => createApiContext(dependencies, { token, transport: 'ws', connectionId }),
      onError: onTransportError,
      onRefusal: (reason, error) => refusals.refused(reason, error ?? reason),
    },
  );
  const metrics = createMetrics({ services, transport, rateLimits, refusals });
  const metricsAccess = {
    ...(config.metricsPort !== undefined && { port: config.metricsPort }),
    host: config.metricsHost,
    ...(config.metricsToken !== undefined && { token: config.metricsToken }),
  };
  const serveMetrics = createMetricsHandler(metrics.registry, metricsAccess);
  let metricsServer: Server | undefined;
  let separateMetricsUrl: string | undefined;
  backend.reportProcessStats(() => ({
    connections: transport.connectionCount,
    coreConnections: services.core.localConnectionCount,
    subscriptions: services.core.stats().subscriptions,
  }));

  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: config.maxPayloadBytes,
    // EventSource cannot set headers: an SSE client may send its token as tRPC connectionParams
    // (a `connectionParams` query parameter) instead of the Authorization header.
    createContext: ({ req, info }) => {
      const fromParams = info.connectionParams?.token;
      const token = bearerToken(req.headers.authorization) ?? (typeof fromParams === 'string' ? fromParams : undefined);
      return createApiContext(dependencies, { token, transport: 'http' });
    },
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') onError(error, `procedure ${path ?? '?'}`);
    },
  });
  const serveStatic = options.staticDirectory ? createStaticHandler(options.staticDirectory) : undefined;

  const origins = createOriginPolicy(config.corsOrigins);
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    setSecurityHeaders(response);
    const path = (request.url ?? '/').split('?')[0]!;
    if (origins.handleCors(request, response)) return;
    if (path === '/trpc' || path.startsWith('/trpc/')) return trpcHandler(request, response);
    if (request.method === 'GET' && path === '/healthz') {
      return sendJson(response, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()), connections: transport.connectionCount });
    }
    if (request.method === 'GET' && path === '/readyz') {
      const health = bus.health();
      // A degraded store does not make the process unready: delivery goes on, writes are retried.
      const store = services.core.store.health();
      return sendJson(response, health.ready ? 200 : 503, {
        ready: health.ready,
        ...(health.reason && { reason: health.reason }),
        ...(health.shards && { shards: health.shards }),
        store,
      });
    }
    // With METRICS_PORT, /metrics lives only on that port.
    if (request.method === 'GET' && path === '/metrics' && metricsAccess.port === undefined) return serveMetrics(request, response);
    if (serveStatic && (await serveStatic(request, response, path))) return;
    sendJson(response, 404, { error: 'Not found' });
  };

  const httpServer = createServer(socketTimeouts(config), (request, response) => {
    handle(request, response).catch((error: unknown) => {
      onError(error, 'http request');
      if (!response.headersSent) sendJson(response, 500, { error: 'Internal error' });
      else response.destroy();
    });
  });
  limitConnections(httpServer, config, () => {
    transport.counters.refusedConnections++;
    refusals.refused('tcp connection', 'too many connections from one address');
  });
  httpServer.on('upgrade', (request, socket, head) => {
    // A peer that goes away mid-handshake (a closed tab) is routine: a refusal, not an error.
    socket.on('error', (error: NodeJS.ErrnoException) => onTransportError(error, 'upgrade socket'));
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/trpc' && path !== '/trpc/') return socket.destroy();
    // Browsers let any page open a WebSocket anywhere: the Origin allow-list is the only guard (cors.ts).
    if (!origins.allows(request)) return void socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    transport.handleUpgrade(request, socket, head);
  });
  httpServer.on('clientError', (error, socket) => {
    refusals.refused('http client error', error);
    socket.destroy();
  });

  let started = false;
  return {
    services,
    tokens,
    httpServer,
    transport,
    roomAccess,
    roomAccessSweep,
    refusals,
    async listen() {
      if (!started) {
        await services.start();
        roomAccessSweep.start();
        started = true;
      }
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `http://${host}:${port}`;
      if (metricsAccess.port !== undefined && !metricsServer) {
        const started = await startMetricsServer(serveMetrics, { ...metricsAccess, port: metricsAccess.port }, onError);
        metricsServer = started.server;
        separateMetricsUrl = started.url;
      }
      return { port, url, wsUrl: `ws://${host}:${port}/trpc`, metricsUrl: separateMetricsUrl ?? `${url}/metrics` };
    },
    async close() {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await transport.close();
      httpServer.closeAllConnections();
      await closed;
      if (metricsServer) {
        const stopping = new Promise<void>((resolve) => metricsServer!.close(() => resolve()));
        metricsServer.closeAllConnections();
        await stopping;
        metricsServer = undefined;
      }
      metrics.stop();
      roomAccessSweep.stop();
      await services.stop();
    },
  };
}


function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
