/**
 * Entry point of `npm start`: reads the environment, starts the service on one port, prints
 * ready tokens in development, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { createRealtimeServer } from './http/server.js';
import { backendFromConfig } from './cluster/from-config.js';
import { createLogDestination, exitWhenFlushed, ignoreBrokenOutputPipes } from './logging/log-destination.js';

/** SIGTERM ends the process within this, whatever the log reader does (docs/reliability.md). */
const shutdownDeadlineMs = 10_000;

ignoreBrokenOutputPipes();
const config = loadConfig();
// Never pino's synchronous stdout: a stalled pipe reader would block the event loop and shutdown.
const logDestination = createLogDestination();
const logger = pino({ level: config.logLevel }, logDestination);

if (config.production && !config.authSecret && !config.authJwksUrl) {
  logger.fatal('AUTH_SECRET (or AUTH_JWKS_URL) is required when NODE_ENV=production: set it to a random string of at least 16 characters.');
  exitWhenFlushed(1);
  await new Promise(() => {}); // nothing below runs; the exit comes once the line is out
}
const authSecret = config.authSecret ?? randomBytes(32).toString('hex');
/** The dashboard build (dist/dashboard), found from here whether this runs as dist/server/main.js (npm start) or server/main.ts (tsx). */
function dashboardDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const compiled = basename(here) === 'server' && basename(dirname(here)) === 'dist';
  return compiled ? join(here, '..', 'dashboard') : join(here, '..', 'dist', 'dashboard');
}
const staticDirectory = dashboardDirectory();

const onError = (error: unknown, context: string) => logger.error({ err: error }, context);
const backend = backendFromConfig(config, onError);
const server = createRealtimeServer({
  config,
  authSecret,
  backend,
  ...(existsSync(staticDirectory) && { staticDirectory }),
  onError,
  logRefusal: (record, message) => logger.warn(record, message),
});

const { url, wsUrl, metricsUrl } = await server.listen();
// The store's kind, never its URL (it may carry a password).
const store = config.databaseUrl ? 'postgres' : config.dataDir === 'none' ? 'none' : `pglite:${config.dataDir}`;
logger.info({ url, wsUrl, metricsUrl, bus: config.redisClusterNodes.length > 0 ? 'redis-cluster' : config.redisUrl ? 'redis' : 'memory', store }, 'realtime service listening');

if (!config.authSecret && !config.production) {
  // Development tokens reach every room, so trying the service needs no room set-up.
  const adminToken = await server.tokens.sign('admin', 'admin', '7d', { rooms: ['*'] });
  const userToken = await server.tokens.sign('alice', 'user', '7d', { rooms: ['*'] });
  logDestination.write(
    [
      '',
      'Development mode: no AUTH_SECRET set, so this process made its own secret. Ready tokens (7 days, every room):',
      `  admin (sub=admin): ${adminToken}`,
      `  user  (sub=alice): ${userToken}`,
      existsSync(staticDirectory) ? `Dashboard: ${url}/  (paste the admin token)` : 'Dashboard not built: run `npm run build` to serve it here.',
      '',
    ].join('\n') + '\n',
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // The logger never blocks (see log-destination), so this timer runs even when the log reader
  // has stalled; the line it writes may be dropped, the exit is not.
  const deadline = setTimeout(() => {
    logger.error({ deadlineMs: shutdownDeadlineMs }, 'shutdown deadline passed; exiting');
    process.exit(1);
  }, shutdownDeadlineMs);
  deadline.unref();
  await server.close();
  logger.info('stopped');
  exitWhenFlushed(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
