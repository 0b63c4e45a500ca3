/**
 * The server of `--reconnect-storm`: this project's server on a fixed port (STORM_PORT), so a
 * restarted process is found where the clients left the last one. SIGTERM shuts it down as
 * `npm start` does (server.close(): reconnect requests and 1001 closes, each with a retry hint).
 */
import { createRealtimeServer, defaultConfig } from '../../server/index.js';
import { serveParent } from '../ipc.js';
import { benchAuthSecret, benchLimits } from '../servers/bench-limits.js';
import type { StormServerOperations } from './contracts.js';

const config = defaultConfig({
  port: Number(process.env.STORM_PORT),
  ...benchLimits,
  ...(process.env.STORM_SPREAD_MS !== undefined && { reconnectSpreadMs: Number(process.env.STORM_SPREAD_MS) }),
  // The room's history must outlast the storm's own joins (one stored room.joined per client) for resumes to find what they missed.
  ...(process.env.STORM_HISTORY_PER_CHANNEL !== undefined && { historyPerChannel: Number(process.env.STORM_HISTORY_PER_CHANNEL) }),
});
const server = createRealtimeServer({ config, authSecret: benchAuthSecret, onError: (error, context) => console.error(`[storm server] ${context}`, error) });
const { url } = await server.listen();

process.once('SIGTERM', () => {
  const deadline = setTimeout(() => process.exit(1), 10_000);
  void server.close().finally(() => {
    clearTimeout(deadline);
    process.exit(0);
  });
});

const { announceReady } = serveParent<StormServerOperations>({
  async stats() {
    const cpu = process.cpuUsage();
    return { cpuMicros: cpu.user + cpu.system, connections: server.transport.connectionCount, refusedConnections: server.transport.counters.refusedConnections };
  },
});
announceReady({ url });
