/**
 * The part every server under test shares: report CPU, memory and connections to the
 * orchestrator over IPC, and shut down cleanly on request (so `--cpu-prof` can write its file).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { serveParent } from '../ipc.js';
import type { ServerOperations, ServerStats, TargetInfo } from '../contracts.js';

export interface RunningBenchServer {
  target: TargetInfo;
  connectionCount(): number;
  /** Rows written by the durable store, when the server has one. */
  storeRowsWritten?(): number;
  close(): Promise<void>;
}

/** `--expose-gc` is passed by the orchestrator; without it memory figures include garbage. */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  gc();
}

export async function runBenchServer(start: () => Promise<RunningBenchServer>): Promise<void> {
  const server = await start();
  const { announceReady } = serveParent<ServerOperations>({
    async stats({ collectGarbage: collect }): Promise<ServerStats> {
      if (collect) collectGarbage();
      const cpu = process.cpuUsage();
      const memory = process.memoryUsage();
      return {
        cpuMicros: cpu.user + cpu.system,
        rssBytes: memory.rss,
        newSpaceBytes: getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0,
        heapUsedBytes: memory.heapUsed,
        externalBytes: memory.external + memory.arrayBuffers,
        connections: server.connectionCount(),
        monotonicMicros: Number(process.hrtime.bigint() / 1000n),
        ...(server.storeRowsWritten && { storeRowsWritten: server.storeRowsWritten() }),
      };
    },
    async shutdown() {
      // Exit on the next tick whatever close() does: a hung close must not keep the profile unwritten.
      const deadline = setTimeout(() => process.exit(0), 3_000);
      await server.close().catch(() => undefined);
      clearTimeout(deadline);
      setImmediate(() => process.exit(0));
      return { ok: true };
    },
  });
  announceReady(server.target);
}
