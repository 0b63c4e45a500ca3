/**
 * A test file's own Redis Cluster deployment: a 3-master Redis Cluster of its own
 * (redis-cluster.ts) and `count` compiled server processes joined to it through
 * `REDIS_CLUSTER_URLS`, started before the file's tests and killed after, with the clients the
 * tests opened closed first. Like useRedisProcesses (one Redis), `processes` and `clients` are
 * filled in place, so a file may destructure them at the top.
 */
import { afterAll, beforeAll } from 'vitest';
import { startServerProcess, type ServerProcess } from './main-process.js';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import type { TestClient } from './server.js';

export interface RedisClusterProcesses {
  /** Set once the file's set-up ran. */
  readonly cluster: TestRedisCluster;
  /** `REDIS_CLUSTER_URLS` as the processes got it. */
  readonly seeds: string;
  readonly processes: ServerProcess[];
  readonly clients: TestClient[];
}

/**
 * The seed list names every master, the first as a `redis://` URL and the others as bare
 * `host:port`, so both spellings the variable accepts are in use.
 */
export const clusterSeeds = (nodes: readonly string[]): string => nodes.map((node, index) => (index === 0 ? `redis://${node}` : node)).join(',');

/** @param env each process's environment besides REDIS_CLUSTER_URLS (REDIS_PREFIX, CLUSTER_DEAD_AFTER_MS, ...). */
export function useRedisClusterProcesses(enabled: boolean, count: number, env: Record<string, string>, masters = 3): RedisClusterProcesses {
  let cluster: TestRedisCluster | undefined;
  let seeds = '';
  const processes: ServerProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    if (!enabled) return;
    cluster = await startRedisCluster(masters);
    seeds = clusterSeeds(cluster.nodes);
    // All at once, as a deployment rolls out: the processes race to set up the partitions' state.
    const environment = { ...env, REDIS_CLUSTER_URLS: seeds };
    processes.push(...(await Promise.all(Array.from({ length: count }, () => startServerProcess(environment)))));
  }, 120_000);
  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(processes.splice(0).map((server) => server.kill('SIGKILL')));
    await cluster?.close();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('The Redis Cluster is not started (set-up skipped or not run yet)');
      return cluster;
    },
    get seeds() {
      return seeds;
    },
    processes,
    clients,
  };
}
