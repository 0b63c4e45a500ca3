/**
 * A redis-server of the test's own on a free port (or REDIS_URL when given), so tests never
 * share state with anything else on the machine. Under CI a missing redis-server fails the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  /** Stops the server (as if Redis went away); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Removes every key, so tests do not see each other's state. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const redisAvailable = (): boolean =>
  Boolean(process.env.REDIS_URL) || spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** Describe-level guard: outside CI a missing Redis skips; under CI=true it is a failure. */
export function requireRedis(): boolean {
  if (redisAvailable()) return true;
  if (process.env.CI === 'true') throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
  console.warn('redis-server not found: skipping Redis tests (install Debian package redis-server)');
  return false;
}

async function waitForPing(url: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      return;
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`redis at ${url} did not answer within ${timeoutMs} ms`);
}

export async function startRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) {
    const url = process.env.REDIS_URL;
    return {
      url,
      stop: async () => {
        throw new Error('cannot stop an external REDIS_URL');
      },
      start: async () => {},
      flush: () => flushAll(url),
      close: async () => {},
    };
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: 'ignore',
    });
    await waitForPing(url);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  return { url, stop, start, flush: () => flushAll(url), close: stop };
}

async function flushAll(url: string): Promise<void> {
  const client = new Redis(url);
  await client.flushall();
  client.disconnect();
}
