/**
 * A test file's own cluster: a redis-server of its own and `count` compiled server processes
 * joined to it, started before the file's tests and killed after, with the clients the tests
 * opened closed first. `processes` and `clients` are filled in place, so a file may destructure
 * them at the top.
 */
import { afterAll, beforeAll } from 'vitest';
import { startServerProcess, type ServerProcess } from './main-process.js';
import { startRedis, type TestRedis } from './redis.js';
import type { TestClient } from './server.js';

export interface RedisProcesses {
  /** Set once the file's set-up ran. */
  readonly redis: TestRedis;
  readonly processes: ServerProcess[];
  readonly clients: TestClient[];
}

/** @param env each process's environment, given the file's Redis URL. */
export function useRedisProcesses(enabled: boolean, count: number, env: (redisUrl: string) => Record<string, string>): RedisProcesses {
  let redis: TestRedis | undefined;
  const processes: ServerProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    if (!enabled) return;
    redis = await startRedis();
    const environment = env(redis.url);
    // Each process starts the compiled server; on a busy two-core machine that takes a while.
    processes.push(...(await Promise.all(Array.from({ length: count }, () => startServerProcess(environment)))));
  }, 120_000);
  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(processes.splice(0).map((server) => server.kill('SIGKILL')));
    await redis?.close();
  });
  return {
    get redis() {
      if (!redis) throw new Error('Redis is not started (set-up skipped or not run yet)');
      return redis;
    },
    processes,
    clients,
  };
}
