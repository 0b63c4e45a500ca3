/**
 * A test file's own cluster: a redis-server of its own and `count` compiled server processes
 * joined to it, started before the file's tests and killed after, with the clients the tests
 * opened closed first. `processes` and `clients` are filled in place, so a file may destructure
 * them at the top. useProcessesOver is the same over any store a file starts (a Redis Cluster:
 * redis-cluster-processes.ts).
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

export interface ProcessesOver<Store> {
  /** The store, once the file's set-up ran (throws before, or when set-up was skipped). */
  store(): Store;
  readonly processes: ServerProcess[];
  readonly clients: TestClient[];
}

/**
 * Starts the store, then `count` processes with `env(store)`, all at once (as a deployment rolls
 * out, racing to set up what they share); after the file, closes the clients, kills the
 * processes and closes the store.
 */
export function useProcessesOver<Store extends { close(): Promise<void> }>(
  enabled: boolean,
  count: number,
  start: () => Promise<Store>,
  env: (store: Store) => Record<string, string>,
): ProcessesOver<Store> {
  let store: Store | undefined;
  const processes: ServerProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    if (!enabled) return;
    store = await start();
    const environment = env(store);
    // Each process starts the compiled server; on a busy two-core machine that takes a while.
    processes.push(...(await Promise.all(Array.from({ length: count }, () => startServerProcess(environment)))));
  }, 120_000);
  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(processes.splice(0).map((server) => server.kill('SIGKILL')));
    await store?.close();
  });
  return {
    store() {
      if (!store) throw new Error('The store is not started (set-up skipped or not run yet)');
      return store;
    },
    processes,
    clients,
  };
}

/** @param env each process's environment, given the file's Redis URL. */
export function useRedisProcesses(enabled: boolean, count: number, env: (redisUrl: string) => Record<string, string>): RedisProcesses {
  const started = useProcessesOver(enabled, count, startRedis, (redis) => env(redis.url));
  return {
    get redis() {
      return started.store();
    },
    processes: started.processes,
    clients: started.clients,
  };
}
