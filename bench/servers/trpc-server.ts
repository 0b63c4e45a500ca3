/**
 * Server under test (a): this project's server, as `createRealtimeServer` builds it, with the
 * rate limit and per-address connection limit raised so that the load generator (one address,
 * one admin publishing at full speed) measures delivery, not the limits.
 */
import { createRealtimeServer, defaultConfig } from '../../server/index.js';
import { runBenchServer } from './harness.js';

const authSecret = 'bench-secret-0123456789abcdef';

await runBenchServer(async () => {
  const server = createRealtimeServer({
    config: defaultConfig({
      port: 0,
      logLevel: 'silent',
      rateLimitPerSecond: 1_000_000,
      rateLimitBurst: 1_000_000,
      maxConnectionsPerAddress: 1_000_000,
      maxBufferedBytes: 64 * 1024 * 1024,
    }),
    authSecret,
    onError: (error, context) => console.error(`[bench trpc server] ${context}`, error),
  });
  const { url, wsUrl } = await server.listen();
  return {
    target: {
      kind: 'trpc',
      url,
      wsUrl,
      viewerToken: await server.tokens.sign('bench-viewer', 'user', '2h'),
      adminToken: await server.tokens.sign('bench-admin', 'admin', '2h'),
    },
    connectionCount: () => server.transport.connectionCount,
    close: () => server.close(),
  };
});
