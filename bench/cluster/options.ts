/**
 * Command-line options of `npm run bench -- --cluster`. The five one-Redis variants' defaults kept
 * a run under ~4 minutes on the 2-core machine (`--quick` under a minute); the three Redis Cluster
 * variants add their own cells to that (`--variants` picks a subset).
 */
import { parseArgs } from 'node:util';
import { jobArgs, positiveInteger, positiveIntegers } from '../options.js';

/**
 * The ways of running the same fan-out job, measured side by side: ours (a–c), Socket.IO on its
 * Redis adapter (d, e), and on a 3-master Redis Cluster ours (f, g) and Socket.IO's sharded adapter (h).
 */
export type ClusterVariant =
  | 'memory'
  | 'redis-1'
  | 'redis-2'
  | 'socketio-redis-1'
  | 'socketio-redis-2'
  | 'redis-cluster-1'
  | 'redis-cluster-2'
  | 'socketio-sharded-2';

export const clusterVariants: readonly ClusterVariant[] = [
  'memory',
  'redis-1',
  'redis-2',
  'socketio-redis-1',
  'socketio-redis-2',
  'redis-cluster-1',
  'redis-cluster-2',
  'socketio-sharded-2',
];

export const variantLabels: Record<ClusterVariant, string> = {
  memory: '(a) 1 process, memory bus',
  'redis-1': '(b) 1 process, Redis',
  'redis-2': '(c) 2 processes, Redis',
  'socketio-redis-1': '(d) Socket.IO, 1 process, Redis adapter',
  'socketio-redis-2': '(e) Socket.IO, 2 processes, Redis adapter',
  'redis-cluster-1': '(f) 1 process, Redis Cluster',
  'redis-cluster-2': '(g) 2 processes, Redis Cluster',
  'socketio-sharded-2': '(h) Socket.IO, 2 processes, sharded adapter',
};

/** Server processes per variant; with 2 the subscribers are split evenly and the publisher is on the first. */
export const variantProcesses: Record<ClusterVariant, number> = {
  memory: 1,
  'redis-1': 1,
  'redis-2': 2,
  'socketio-redis-1': 1,
  'socketio-redis-2': 2,
  'redis-cluster-1': 1,
  'redis-cluster-2': 2,
  'socketio-sharded-2': 2,
};

/** Which server each variant runs. */
export const variantServers: Record<ClusterVariant, 'trpc' | 'socketio'> = {
  memory: 'trpc',
  'redis-1': 'trpc',
  'redis-2': 'trpc',
  'socketio-redis-1': 'socketio',
  'socketio-redis-2': 'socketio',
  'redis-cluster-1': 'trpc',
  'redis-cluster-2': 'trpc',
  'socketio-sharded-2': 'socketio',
};

/**
 * What each variant's processes run on: nothing, the run's one redis-server, or its 3-master
 * Redis Cluster (whose counters are summed over the masters). (a) reads the one Redis's
 * counters all the same: its idle background, the noise floor.
 */
export const variantRedis: Record<ClusterVariant, 'none' | 'one' | 'cluster'> = {
  memory: 'none',
  'redis-1': 'one',
  'redis-2': 'one',
  'socketio-redis-1': 'one',
  'socketio-redis-2': 'one',
  'redis-cluster-1': 'cluster',
  'redis-cluster-2': 'cluster',
  'socketio-sharded-2': 'cluster',
};

/**
 * Pairs reported side by side (first ÷ second, within each repeat): ours against Socket.IO at the
 * same load on the same Redis, and ours on the cluster against ours on one Redis.
 */
export const variantPairs: ReadonlyArray<readonly [ClusterVariant, ClusterVariant]> = [
  ['redis-1', 'socketio-redis-1'],
  ['redis-2', 'socketio-redis-2'],
  ['redis-cluster-2', 'socketio-sharded-2'],
  ['redis-cluster-1', 'redis-1'],
  ['redis-cluster-2', 'redis-2'],
];

export interface ClusterBenchOptions {
  /** Subscriber counts to measure (all in one room). @default [1000, 2000] (quick: [1000]) */
  subscriberCounts: number[];
  /** Interleaved repeats of every (N, variant) cell; medians are reported. @default 3 (quick: 1) */
  repeats: number;
  /** Full-speed events per cell; by default sized so that each cell delivers ~`deliveriesPerCell`. */
  burstEvents: number | undefined;
  /** @default 400000 (quick: 100000) */
  deliveriesPerCell: number;
  /** Fixed-rate phase: events per second and how many events. @default 10 and 20 */
  fixedRate: number;
  fixedRateEvents: number;
  /** Full-speed phase: events not yet delivered to every subscriber of the first load generator. @default 16 */
  window: number;
  variants: ClusterVariant[];
  outputDirectory: string;
  quick: boolean;
}

const usage = `npm run bench -- --cluster [options]
  --n 1000,2000        subscriber counts (N), all in one room
  --repeats 3          interleaved repeats per cell (medians and median paired ratios reported)
  --events M           full-speed events per cell (default: ~400k deliveries per cell)
  --rate 10            fixed-rate phase: events per second
  --rate-events 20     fixed-rate phase: number of events
  --window 16          full-speed phase: events in flight
  --variants memory,redis-1,redis-2,socketio-redis-1,socketio-redis-2,redis-cluster-1,redis-cluster-2,socketio-sharded-2
  --quick              N=1000, 1 repeat, ~100k deliveries per cell (under a minute)
  --publish-cost       instead: Redis commands and CPU per published event, ours vs before issue 20 vs Socket.IO's adapters,
                       on one Redis and on a 3-master Redis Cluster
  --out bench-output   output directory (writes cluster-results.json and cluster-results.md)

Starts its own redis-server (Debian package redis-server) on a free loopback port, and for (f)-(h) a
3-master Redis Cluster of its own (redis-server in cluster mode, redis-cli --cluster create), and
stops them at the end.`;

export function parseClusterBenchOptions(argv: string[]): ClusterBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...jobArgs,
      rate: { type: 'string' },
      'rate-events': { type: 'string' },
      variants: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-output' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const variants = (values.variants?.split(',').map((name) => name.trim()) ?? [...clusterVariants]) as ClusterVariant[];
  for (const variant of variants) {
    if (!clusterVariants.includes(variant)) throw new Error(`--variants: unknown variant '${variant}' (known: ${clusterVariants.join(', ')})`);
  }
  return {
    subscriberCounts: values.n ? positiveIntegers(values.n, 'n') : quick ? [1000] : [1000, 2000],
    repeats: positiveInteger(values.repeats, 'repeats', quick ? 1 : 3),
    burstEvents: values.events === undefined ? undefined : positiveInteger(values.events, 'events', 1),
    deliveriesPerCell: quick ? 100_000 : 400_000,
    fixedRate: positiveInteger(values.rate, 'rate', 10),
    fixedRateEvents: positiveInteger(values['rate-events'], 'rate-events', quick ? 10 : 20),
    window: positiveInteger(values.window, 'window', 16),
    variants,
    outputDirectory: values.out ?? 'bench-output',
    quick,
  };
}
