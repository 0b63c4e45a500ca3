/**
 * Configuration from the environment, validated once at start. Every knob has a default that
 * suits one process on a laptop; the README's configuration table lists them.
 */
import { z } from 'zod';

const integer = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const environmentSchema = z.object({
  NODE_ENV: z.string().default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  AUTH_SECRET: z.string().min(16, 'AUTH_SECRET must be at least 16 characters').optional(),
  REDIS_URL: z.string().optional(),
  /** Namespace of this service's keys in Redis. */
  REDIS_PREFIX: z.string().min(1).max(64).default('rt'),
  /** A process silent this long is presumed dead: its users go offline and leave their rooms. */
  CLUSTER_DEAD_AFTER_MS: integer(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Incoming messages per connection (WebSocket) or per user (HTTP) per second. */
  RATE_LIMIT_PER_SECOND: integer(50),
  /** Short bursts above the rate. */
  RATE_LIMIT_BURST: integer(100),
  MAX_PAYLOAD_BYTES: integer(64 * 1024),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: integer(100),
  MAX_BUFFERED_BYTES: integer(4 * 1024 * 1024),
  MAX_CONNECTIONS_PER_ADDRESS: integer(10_000),
  HISTORY_PER_CHANNEL: integer(1000),
  HISTORY_GLOBAL: integer(10_000),
  IDLE_AFTER_MS: integer(300_000),
  TYPING_EXPIRE_MS: integer(5_000),
  GOVERNANCE_EXPIRES_MS: integer(300_000),
  IDEMPOTENCY_WINDOW_MS: integer(300_000),
  KEEPALIVE_PING_MS: integer(30_000),
  KEEPALIVE_PONG_WAIT_MS: integer(10_000),
  /** Browser origins besides the service's own that may call it (CORS) and open WebSockets: comma-separated, or `*`. */
  CORS_ORIGINS: z.string().default(''),
});

export type ServerConfig = {
  production: boolean;
  host: string;
  port: number;
  authSecret: string | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  clusterDeadAfterMs: number;
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  maxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  maxBufferedBytes: number;
  maxConnectionsPerAddress: number;
  historyPerChannel: number;
  historyGlobal: number;
  idleAfterMs: number;
  typingExpireMs: number;
  governanceExpiresMs: number;
  idempotencyWindowMs: number;
  keepAlivePingMs: number;
  keepAlivePongWaitMs: number;
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
  return {
    production: env.NODE_ENV === 'production',
    host: env.HOST,
    port: env.PORT,
    authSecret: env.AUTH_SECRET,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX,
    clusterDeadAfterMs: env.CLUSTER_DEAD_AFTER_MS,
    logLevel: env.LOG_LEVEL,
    rateLimitPerSecond: env.RATE_LIMIT_PER_SECOND,
    rateLimitBurst: env.RATE_LIMIT_BURST,
    maxPayloadBytes: env.MAX_PAYLOAD_BYTES,
    maxSubscriptionsPerConnection: env.MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxBufferedBytes: env.MAX_BUFFERED_BYTES,
    maxConnectionsPerAddress: env.MAX_CONNECTIONS_PER_ADDRESS,
    historyPerChannel: env.HISTORY_PER_CHANNEL,
    historyGlobal: env.HISTORY_GLOBAL,
    idleAfterMs: env.IDLE_AFTER_MS,
    typingExpireMs: env.TYPING_EXPIRE_MS,
    governanceExpiresMs: env.GOVERNANCE_EXPIRES_MS,
    idempotencyWindowMs: env.IDEMPOTENCY_WINDOW_MS,
    keepAlivePingMs: env.KEEPALIVE_PING_MS,
    keepAlivePongWaitMs: env.KEEPALIVE_PONG_WAIT_MS,
    corsOrigins: env.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean),
  };
}

/** Defaults for embedding and tests: `loadConfig({})` with overrides. */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const defined = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return { ...loadConfig({}), ...Object.fromEntries(defined) };
}
