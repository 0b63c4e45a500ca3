/**
 * Configuration from the environment, validated once at start. Every knob has a default that
 * suits one process on a laptop; the README's configuration table lists them.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { historyDefaults } from './bus/bus.js';
import { membershipDefaults } from './core/membership-state.js';
import { parseRoomPatterns } from './core/room-patterns.js';

const integer = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Past the open-file limit, accept() fails and every client is locked out (21,000 idle TCP
 * connections did it): keep 10% and at least 128 descriptors for files, Redis, logs and the
 * connections being closed. Linux reports the soft limit in /proc; elsewhere assume 10,000.
 */
function defaultMaxConnections(): number {
  let openFiles = 10_000;
  try {
    const match = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m);
    if (match) openFiles = Number(match[1]);
  } catch {
    // not Linux: the assumption above stands
  }
  return Math.max(64, Math.min(openFiles - 128, Math.floor(openFiles * 0.9)));
}

const environmentSchema = z.object({
  NODE_ENV: z.string().default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  AUTH_SECRET: z.string().min(16, 'AUTH_SECRET must be at least 16 characters').optional(),
  /** An identity provider's JWKS (RS256/ES256 tokens), with the issuer and audience its tokens must name. */
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /** Where identity-provider tokens keep the role: a claim name or a dotted path. */
  AUTH_ROLE_CLAIM: z.string().min(1).default('role'),
  /** Longest accepted token lifetime: seconds, or a number with s, m, h or d. */
  AUTH_MAX_TOKEN_LIFETIME: z
    .string()
    .regex(/^\d+[smhd]?$/, 'AUTH_MAX_TOKEN_LIFETIME is seconds, or a number with s, m, h or d (30d)')
    .default('30d'),
  /** Rooms every signed-in user may enter: comma-separated ids and `prefix*` patterns. */
  OPEN_ROOMS: z.string().default(''),
  REDIS_URL: z.string().optional(),
  /** A Redis Cluster instead of one Redis: comma-separated seed nodes (`host:port` or `redis://host:port`). */
  REDIS_CLUSTER_URLS: z.string().optional(),
  /** Partitions the channels are spread over on a Redis Cluster (each a hash tag, its own sequence and shard channel). */
  REDIS_CLUSTER_PARTITIONS: z.coerce.number().int().min(1).max(64).default(12),
  /** PostgreSQL for the durable store (inboxes, audit trail, finished runs, room history); unset: PGlite under DATA_DIR. */
  DATABASE_URL: z.string().optional(),
  /** Where the embedded PGlite keeps its files; `memory`: kept in memory only; `none`: no durable store. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Room history older than this is pruned: seconds, or a number with s, m, h or d. */
  HISTORY_RETENTION: z
    .string()
    .regex(/^\d+[smhd]?$/, 'HISTORY_RETENTION is seconds, or a number with s, m, h or d (30d)')
    .default('30d'),
  /** Namespace of this service's keys in Redis. */
  REDIS_PREFIX: z.string().min(1).max(64).default('rt'),
  /** A process silent this long is presumed dead: its users go offline and leave their rooms. */
  CLUSTER_DEAD_AFTER_MS: integer(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Incoming messages per connection (WebSocket) or per user (HTTP) per second. */
  RATE_LIMIT_PER_SECOND: integer(50),
  /** Short bursts above the rate. */
  RATE_LIMIT_BURST: integer(100),
  /** Largest single call (one procedure's message, or an HTTP request body). */
  MAX_PAYLOAD_BYTES: integer(64 * 1024),
  /** Largest WebSocket frame: the official client sends the calls of one tick as one frame. */
  MAX_FRAME_BYTES: integer(1024 * 1024),
  /** A WebSocket must present a valid token within this long of opening, or it is closed (4408). */
  AUTH_TIMEOUT_MS: integer(5_000),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: integer(100),
  MAX_BUFFERED_BYTES: integer(4 * 1024 * 1024),
  MAX_CONNECTIONS_PER_ADDRESS: integer(1_000),
  /** WebSockets and SSE streams one user may hold per process. */
  MAX_CONNECTIONS_PER_USER: integer(64),
  /** Open TCP connections in all; the default keeps clear of the open-file limit. */
  MAX_CONNECTIONS: integer(defaultMaxConnections()),
  /** An HTTP request's headers must arrive within this long (slowloris, idle sockets). */
  HTTP_HEADERS_TIMEOUT_MS: integer(10_000),
  /** An HTTP request (headers and body) must arrive within this long. */
  HTTP_REQUEST_TIMEOUT_MS: integer(30_000),
  /** An idle keep-alive HTTP connection is closed after this long. */
  HTTP_KEEPALIVE_TIMEOUT_MS: integer(5_000),
  HISTORY_PER_CHANNEL: integer(historyDefaults.perChannel),
  /** UTF-8 bytes of one agent run's `agent.output` text; a delta past it is PAYLOAD_TOO_LARGE. */
  AGENT_OUTPUT_MAX_BYTES: integer(1024 * 1024),
  HISTORY_GLOBAL: integer(historyDefaults.global),
  /** Of HISTORY_GLOBAL, the membership changes the embedded bus keeps (a log of their own). */
  HISTORY_GLOBAL_MEMBERSHIP: integer(historyDefaults.globalMembership),
  IDLE_AFTER_MS: integer(membershipDefaults.idleAfterMs),
  TYPING_EXPIRE_MS: integer(membershipDefaults.typingExpireMs),
  /** Most deliveries a second of one ephemeral type (cursor.moved…) per sender and room; 0 turns coalescing off. */
  EPHEMERAL_HZ: z.coerce.number().int().min(0).max(1000).default(20),
  /** Clients refused (load shedding) or shut down are told to come back after a random delay of half this to this. */
  RECONNECT_SPREAD_MS: integer(2_000),
  /** A room's membership changes reach its members as one `room.membership` per window; 0: one event per change. */
  MEMBERSHIP_BATCH_MS: z.coerce.number().int().min(0).max(10_000).default(200),
  /** Rooms with more members get a summary per window (count, joined, left) instead of each change. */
  ROOM_PRESENCE_DETAIL_MAX: z.coerce.number().int().min(0).default(100),
  /** A room past ROOM_PRESENCE_DETAIL_MAX gets at most one summary this often; 0: one per window. */
  ROOM_SUMMARY_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  GOVERNANCE_EXPIRES_MS: integer(300_000),
  IDEMPOTENCY_WINDOW_MS: integer(300_000),
  KEEPALIVE_PING_MS: integer(30_000),
  KEEPALIVE_PONG_WAIT_MS: integer(10_000),
  /** A port of its own for /metrics (then not served on PORT); unset: /metrics on PORT. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  /** When set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** Bytes of events kept for resume per channel, and across all history. */
  HISTORY_BYTES_PER_CHANNEL: integer(historyDefaults.bytesPerChannel),
  HISTORY_BYTES_TOTAL: integer(historyDefaults.bytesTotal),
  /** Browser origins besides the service's own that may call it (CORS) and open WebSockets: comma-separated, or `*`. */
  CORS_ORIGINS: z.string().default(''),
});

export type ServerConfig = {
  production: boolean;
  host: string;
  port: number;
  authSecret: string | undefined;
  authJwksUrl: string | undefined;
  authIssuer: string | undefined;
  authAudience: string | undefined;
  authRoleClaim: string;
  authMaxTokenLifetimeSeconds: number;
  /** Room patterns every signed-in user may enter (`OPEN_ROOMS`). */
  openRooms: string[];
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster (`REDIS_CLUSTER_URLS`); empty: none. */
  redisClusterNodes: string[];
  redisClusterPartitions: number;
  redisPrefix: string;
  /** The durable store's PostgreSQL (`DATABASE_URL`); undefined: PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  /** `DATA_DIR`: a directory, `memory` or `none` (no durable store). */
  dataDir: string;
  historyRetentionSeconds: number;
  clusterDeadAfterMs: number;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  maxPayloadBytes: number;
  maxFrameBytes: number;
  authTimeoutMs: number;
  maxSubscriptionsPerConnection: number;
  maxBufferedBytes: number;
  maxConnectionsPerAddress: number;
  maxConnectionsPerUser: number;
  maxConnections: number;
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
  historyPerChannel: number;
  agentOutputMaxBytes: number;
  historyGlobal: number;
  historyGlobalMembership: number;
  idleAfterMs: number;
  typingExpireMs: number;
  ephemeralHz: number;
  membershipBatchMs: number;
  roomPresenceDetailMax: number;
  roomSummaryMs: number;
  reconnectSpreadMs: number;
  governanceExpiresMs: number;
  idempotencyWindowMs: number;
  keepAlivePingMs: number;
  keepAlivePongWaitMs: number;
  /** See server/http/metrics-endpoint.ts. */
  metricsPort: number | undefined;
  metricsHost: string;
  metricsToken: string | undefined;
  historyBytesPerChannel: number;
  historyBytesTotal: number;
  /** Browser origins besides the service's own (`https://app.example.com`, or `*`); empty: same-origin pages only. Requests without an Origin (not a browser) are never refused for it. */
  corsOrigins: readonly string[];
};

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): ServerConfig {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${issues}`);
  }
  const env = parsed.data;
  const redisClusterNodes = (env.REDIS_CLUSTER_URLS ?? '').split(',').map((node) => node.trim()).filter(Boolean);
  if (redisClusterNodes.length > 0 && env.REDIS_URL) throw new Error('Invalid configuration:\n  set REDIS_URL (one Redis) or REDIS_CLUSTER_URLS (a Redis Cluster), not both');
  return {
    production: env.NODE_ENV === 'production',
    host: env.HOST,
    port: env.PORT,
    authSecret: env.AUTH_SECRET,
    authJwksUrl: env.AUTH_JWKS_URL,
    authIssuer: env.AUTH_ISSUER,
    authAudience: env.AUTH_AUDIENCE,
    authRoleClaim: env.AUTH_ROLE_CLAIM,
    authMaxTokenLifetimeSeconds: durationSeconds(env.AUTH_MAX_TOKEN_LIFETIME),
    openRooms: parseRoomPatterns(env.OPEN_ROOMS),
    redisUrl: env.REDIS_URL || undefined,
    redisClusterNodes,
    redisClusterPartitions: env.REDIS_CLUSTER_PARTITIONS,
    redisPrefix: env.REDIS_PREFIX,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR,
    historyRetentionSeconds: durationSeconds(env.HISTORY_RETENTION),
    clusterDeadAfterMs: env.CLUSTER_DEAD_AFTER_MS,
    logLevel: env.LOG_LEVEL,
    rateLimitPerSecond: env.RATE_LIMIT_PER_SECOND,
    rateLimitBurst: env.RATE_LIMIT_BURST,
    maxPayloadBytes: env.MAX_PAYLOAD_BYTES,
    maxFrameBytes: Math.max(env.MAX_FRAME_BYTES, env.MAX_PAYLOAD_BYTES),
    authTimeoutMs: env.AUTH_TIMEOUT_MS,
    maxSubscriptionsPerConnection: env.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxBufferedBytes: env.MAX_BUFFERED_BYTES,
    maxConnectionsPerAddress: env.MAX_CONNECTIONS_PER_ADDRESS,
    maxConnectionsPerUser: env.MAX_CONNECTIONS_PER_USER,
    maxConnections: env.MAX_CONNECTIONS,
    httpHeadersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
    httpRequestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
    httpKeepAliveTimeoutMs: env.HTTP_KEEPALIVE_TIMEOUT_MS,
    historyPerChannel: env.HISTORY_PER_CHANNEL,
    agentOutputMaxBytes: env.AGENT_OUTPUT_MAX_BYTES,
    historyGlobal: env.HISTORY_GLOBAL,
    historyGlobalMembership: env.HISTORY_GLOBAL_MEMBERSHIP,
    idleAfterMs: env.IDLE_AFTER_MS,
    typingExpireMs: env.TYPING_EXPIRE_MS,
    ephemeralHz: env.EPHEMERAL_HZ,
    membershipBatchMs: env.MEMBERSHIP_BATCH_MS,
    roomPresenceDetailMax: env.ROOM_PRESENCE_DETAIL_MAX,
    roomSummaryMs: env.ROOM_SUMMARY_MS,
    reconnectSpreadMs: env.RECONNECT_SPREAD_MS,
    governanceExpiresMs: env.GOVERNANCE_EXPIRES_MS,
    idempotencyWindowMs: env.IDEMPOTENCY_WINDOW_MS,
    keepAlivePingMs: env.KEEPALIVE_PING_MS,
    keepAlivePongWaitMs: env.KEEPALIVE_PONG_WAIT_MS,
    metricsPort: env.METRICS_PORT,
    metricsHost: env.METRICS_HOST,
    metricsToken: env.METRICS_TOKEN || undefined,
    historyBytesPerChannel: env.HISTORY_BYTES_PER_CHANNEL,
    historyBytesTotal: env.HISTORY_BYTES_TOTAL,
    corsOrigins: env.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
  };
}

const secondsPerUnit = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

function durationSeconds(value: string): number {
  const unit = value.at(-1) as keyof typeof secondsPerUnit | string;
  return unit in secondsPerUnit ? Number(value.slice(0, -1)) * secondsPerUnit[unit as keyof typeof secondsPerUnit] : Number(value);
}

/**
 * Defaults for embedding and tests: `loadConfig({})` with overrides, except that an embedded
 * server keeps no durable store unless told where (`dataDir` or `databaseUrl`): an app's server,
 * or a test, must not start writing `./data` in whatever directory it runs from.
 */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...loadConfig({}), dataDir: 'none', ...Object.fromEntries(defined) };
}
