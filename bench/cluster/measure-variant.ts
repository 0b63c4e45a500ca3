/**
 * One cell of the cluster benchmark: fresh server process(es) of one variant, N subscribers
 * split evenly over the two load generators, then a warm-up, the fixed-rate phase and the
 * full-speed phase. The load is the same in every variant (two generators, the publisher on the
 * first); only where it lands differs: in (c) generator i talks to process i. The redis-server's
 * CPU and counters are read around every phase, in (a) too, where they show Redis's idle background.
 */
import { loadavg } from 'node:os';
import { PhaseRunner, connectSubscribers, disconnectSubscribers, waitForConnections, warmUpEventsFor, type PhaseResult } from '../measure-cell.js';
import { burstEventsFor } from '../options.js';
import { startServer, stopServer, type LoadChannel, type ServerChannel } from '../processes.js';
import type { BenchRedis } from './redis-server.js';
import type { BenchRedisCluster } from './redis-cluster.js';
import { variantProcesses, variantRedis, variantServers, type ClusterBenchOptions, type ClusterVariant } from './options.js';

/** What the variants run on: the run's one redis-server, and its Redis Cluster when a variant needs one. */
export interface BenchDeployments {
  redis: BenchRedis;
  cluster: BenchRedisCluster | undefined;
  /** Each one's idle CPU, µs per second (see VariantCell.redisIdleMicrosPerSecond). */
  idleMicrosPerSecond: { redis: number; cluster: number };
}

/**
 * The servers' environment: a key prefix per cell as well as a flush after it, so nothing a
 * previous cell's processes left (heartbeats, room holds) can reach this one. Every variable is
 * set, empty where unused: a value inherited from the shell must not put (a) on Redis, or (b) on the cluster.
 */
function variantEnvironment(variant: ClusterVariant, deployments: BenchDeployments, prefix: string): Record<string, string> {
  const where = variantRedis[variant];
  if (where === 'cluster' && !deployments.cluster) throw new Error(`${variant} needs the run's Redis Cluster, which was not started`);
  return {
    BENCH_REDIS_URL: where === 'one' ? deployments.redis.url : '',
    BENCH_REDIS_CLUSTER_URLS: where === 'cluster' ? deployments.cluster!.seeds : '',
    BENCH_REDIS_PREFIX: prefix,
  };
}

export interface VariantCell {
  variant: ClusterVariant;
  subscribers: number;
  repeat: number;
  processes: number;
  /** Subscribers connected per server process. */
  connectedPerProcess: number[];
  connected: number;
  /** The machine's 1-minute load average when the cell ended: above ~2 other work shared the 2 cores. */
  loadAverage: number;
  /**
   * CPU µs per second the Redis this cell ran on spent idle (cron; on the cluster, its bus pings
   * too), measured once at the start of the run: at the fan-out's tens of events a second it is a
   * large part of Redis's CPU per event, and three masters have three times one's.
   */
  redisIdleMicrosPerSecond: number;
  /** `sideDeltas` of each phase: the redis-server's counters across it (see RedisCounters). */
  fixedRate: PhaseResult;
  fullSpeed: PhaseResult;
  problems: string[];
}

export async function measureVariantCell(
  options: ClusterBenchOptions,
  variant: ClusterVariant,
  subscribers: number,
  repeat: number,
  generators: readonly LoadChannel[],
  deployments: BenchDeployments,
): Promise<VariantCell> {
  const environment = variantEnvironment(variant, deployments, `bench-${variant}-n${subscribers}-r${repeat}`);
  const redis = variantRedis[variant] === 'cluster' ? deployments.cluster! : deployments.redis;
  const servers: ServerChannel[] = Array.from({ length: variantProcesses[variant] }, () => startServer(variantServers[variant], { environment }));
  try {
    const targets = await Promise.all(servers.map((server) => server.ready));
    const serverOf = (generatorIndex: number) => generatorIndex % servers.length;
    const { parts: connections, connected, failed, firstError } = await connectSubscribers(
      generators,
      subscribers,
      (index) => targets[serverOf(index)]!,
      30_000 + subscribers * 10,
    );
    const connectedPerProcess = servers.map((_, serverIndex) =>
      connections.reduce((sum, part, index) => sum + (serverOf(index) === serverIndex ? part.connected : 0), 0),
    );
    // +1 on the first process: the publisher's connection.
    await Promise.all(servers.map((server, index) => waitForConnections(server, connectedPerProcess[index]! + (index === 0 ? 1 : 0), 10_000)));

    const cell = new PhaseRunner(servers, generators, connected, () => redis.counters());
    await cell.phase('warm-up', warmUpEventsFor(subscribers), { mode: 'burst', window: options.window });
    cell.problems.length = 0; // the warm-up's own misses are not measured
    if (failed > 0) {
      cell.problems.push(`${failed} of ${subscribers} subscribers failed to connect (${firstError ?? ''})`);
    }
    const fixedRate = await cell.phase('fixed rate', options.fixedRateEvents, { mode: 'rate', eventsPerSecond: options.fixedRate });
    const fullSpeed = await cell.phase('full speed', burstEventsFor(options, subscribers), { mode: 'burst', window: options.window });
    return {
      variant,
      subscribers,
      repeat,
      processes: servers.length,
      connectedPerProcess,
      connected,
      loadAverage: loadavg()[0]!,
      redisIdleMicrosPerSecond: deployments.idleMicrosPerSecond[variantRedis[variant] === 'cluster' ? 'cluster' : 'redis'],
      fixedRate,
      fullSpeed,
      problems: cell.problems,
    };
  } finally {
    await disconnectSubscribers(generators);
    await Promise.all(servers.map((server) => stopServer(server)));
    // Each cell has its own key prefix too, so a failed flush costs memory, not correctness.
    if (variantRedis[variant] !== 'none') await redis.flush().catch((error: unknown) => console.error('[cluster bench] flushing redis failed', error));
  }
}
