/**
 * A test file's own 3-master Redis Cluster (redis-cluster.ts) and `count` servers in this process
 * joined to it (12 partitions, rate limits out of the way), started before the file's tests and
 * stopped after, with the clients the tests opened closed first.
 */
import { afterAll, beforeAll } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { startServer, type TestClient, type TestServer } from './server.js';

export interface ClusterServers {
  /** Set once the file's set-up ran. */
  readonly cluster: TestRedisCluster;
  readonly servers: TestServer[];
  /** Clients closed after the file's tests (`connect` adds its own). */
  readonly clients: TestClient[];
  /** An official client of `server` for `userId`, closed after the file's tests. */
  connect(server: TestServer, userId: string, role?: 'user' | 'admin' | 'service'): Promise<TestClient>;
}

export function useClusterServers(prefix: string, count = 2): ClusterServers {
  let cluster: TestRedisCluster | undefined;
  const servers: TestServer[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    for (let index = 0; index < count; index++) {
      servers.push(
        await startServer({ redisClusterNodes: [...cluster.nodes], redisPrefix: prefix, redisClusterPartitions: 12, rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 }),
      );
    }
  }, 90_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(servers.map((server) => server.stop()));
    await cluster?.close();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the Redis Cluster is not started yet');
      return cluster;
    },
    servers,
    clients,
    async connect(server, userId, role = 'user') {
      const client = server.connect(await server.token(userId, role));
      clients.push(client);
      return client;
    },
  };
}
