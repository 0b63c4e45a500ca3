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
import { clusterFromConfig } from './bus/from-config.js';

const config = loadConfig();
const logger = pino({ level: config.logLevel });

if (config.production && !config.authSecret) {
  logger.fatal('AUTH_SECRET is required when NODE_ENV=production: set it to a random string of at least 16 characters.');
  process.exit(1);
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
const cluster = clusterFromConfig(config, onError);
const server = createRealtimeServer({
  config,
  authSecret,
  ...(cluster && { cluster }),
  ...(existsSync(staticDirectory) && { staticDirectory }),
  onError,
});

const { url, wsUrl } = await server.listen();
logger.info({ url, wsUrl, bus: config.redisUrl ? 'redis' : 'memory' }, 'realtime service listening');

if (!config.authSecret) {
  const adminToken = await server.tokens.sign('admin', 'admin', '7d');
  const userToken = await server.tokens.sign('alice', 'user', '7d');
  console.log(
    [
      '',
      'Development mode: no AUTH_SECRET set, so this process made its own secret. Ready tokens (7 days):',
      `  admin (sub=admin): ${adminToken}`,
      `  user  (sub=alice): ${userToken}`,
      existsSync(staticDirectory) ? `Dashboard: ${url}/  (paste the admin token)` : 'Dashboard not built: run `npm run build` to serve it here.',
      '',
    ].join('\n'),
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, 10_000);
  deadline.unref();
  await server.close();
  logger.info('stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
