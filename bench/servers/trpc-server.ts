/**
 * Server under test (a): this project's server, as `createRealtimeServer` builds it, with the
 * rate limit and per-address connection limit raised so that the load generator (one address,
 * one admin publishing at full speed) measures delivery, not the limits.
 *
 * With `BENCH_REDIS_URL` set (the `--cluster` mode sets it), the process joins a cluster over
 * that Redis exactly as `REDIS_URL` makes `server/main.ts` do. A bench-only name, so that a
 * `REDIS_URL` exported in the shell never silently turns the plain benchmark into a Redis one. With
 * `BENCH_REDIS_CLUSTER_URLS` (`--cluster`'s (f), (g)), it joins over a Redis Cluster as
 * `REDIS_CLUSTER_URLS` does.
 */
import { createRealtimeServer, defaultConfig } from '../../server/index.js';
import { maxCursorMembers } from '../contracts.js';
import { backendFromConfig } from '../../server/cluster/from-config.js';
import { runBenchServer } from './harness.js';
import { benchAuthSecret, benchLimits } from './bench-limits.js';

const authSecret = benchAuthSecret;

await runBenchServer(async () => {
  const config = defaultConfig({
    port: 0,
    ...benchLimits,
    redisUrl: process.env.BENCH_REDIS_URL || undefined,
    redisClusterNodes: (process.env.BENCH_REDIS_CLUSTER_URLS ?? '').split(',').filter(Boolean),
    redisPrefix: process.env.BENCH_REDIS_PREFIX || 'bench',
    // `--cursors` compares coalescing on (the default 20 Hz) and off (0).
    ephemeralHz: process.env.BENCH_EPHEMERAL_HZ === undefined ? 20 : Number(process.env.BENCH_EPHEMERAL_HZ),
    // `--store` puts the durable store under the same job: PostgreSQL or PGlite (none otherwise).
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
    dataDir: process.env.BENCH_DATA_DIR || 'none',
    // `--membership-batch-ms 0` measures one event per membership change (as before issue 17).
    ...(process.env.BENCH_MEMBERSHIP_BATCH_MS !== undefined && { membershipBatchMs: Number(process.env.BENCH_MEMBERSHIP_BATCH_MS) }),
  });
  const onError = (error: unknown, context: string) => console.error(`[bench trpc server] ${context}`, error);
  const server = createRealtimeServer({ config, authSecret, onError, backend: backendFromConfig(config, onError) });
  const { url, wsUrl } = await server.listen();
  return {
    target: {
      kind: 'trpc',
      url,
      wsUrl,
      viewerToken: await server.tokens.sign('bench-viewer', 'user', '2h', { rooms: ['*'] }),
      adminToken: await server.tokens.sign('bench-admin', 'admin', '2h'),
      userTokenSecret: authSecret,
      ...(process.env.BENCH_CURSOR_MEMBERS && {
        memberTokens: await Promise.all(
          Array.from({ length: Math.min(maxCursorMembers, Number(process.env.BENCH_CURSOR_MEMBERS)) }, (_, index) =>
            server.tokens.sign(`member-${index}`, 'user', '2h', { rooms: ['*'] }),
          ),
        ),
      }),
    },
    connectionCount: () => server.transport.connectionCount,
    storeRowsWritten: () => server.services.core.store.counters().rowsWritten,
    close: () => server.close(),
  };
});
