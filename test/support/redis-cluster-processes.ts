/**
 * A test file's own Redis Cluster deployment: a 3-master Redis Cluster of its own
 * (redis-cluster.ts) and `count` compiled server processes joined to it through
 * `REDIS_CLUSTER_URLS`, started before the file's tests and killed after, with the clients the
 * tests opened closed first. Like useRedisProcesses (one Redis), `processes` and `clients` are
 * filled in place, so a file may destructure them at the top.
 */
import type { ServerProcess } from './main-process.js';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { useProcessesOver } from './redis-processes.js';
import type { TestClient } from './server.js';

export interface RedisClusterProcesses {
  /** Set once the file's set-up ran. */
  readonly cluster: TestRedisCluster;
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
  const started = useProcessesOver(
    enabled,
    count,
    () => startRedisCluster(masters),
    (cluster) => ({ ...env, REDIS_CLUSTER_URLS: clusterSeeds(cluster.nodes) }),
  );
  return {
    get cluster() {
      return started.store();
    },
    processes: started.processes,
    clients: started.clients,
  };
}
