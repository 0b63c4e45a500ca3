/**
 * Command-line options of `npm run bench`. Defaults keep a full run under ~5 minutes on the
 * 2-core machine; `--quick` under a minute; `--profile` profiles our server alone.
 */
import { parseArgs } from 'node:util';
import { defaultServerKinds, serverKinds, type ServerKind } from './contracts.js';

export interface BenchOptions {
  /** Subscriber counts to measure. @default [1000, 5000] */
  subscriberCounts: number[];
  /** Interleaved repeats of every (N, server) cell; medians are reported. @default 3 */
  repeats: number;
  /** Full-speed events per cell; by default sized so that each cell delivers ~`deliveriesPerCell`. */
  burstEvents: number | undefined;
  /** @default 200000 (quick: 100000) */
  deliveriesPerCell: number;
  /** Fixed-rate phase: events per second and how many events. @default 5 and 50 (quick: 10) */
  fixedRate: number;
  fixedRateEvents: number;
  /** Full-speed phase: events not yet delivered to every subscriber that the publisher allows. @default 16 */
  window: number;
  /** Load-generator processes the N subscribers are split across. @default 1 */
  loadGenerators: number;
  servers: ServerKind[];
  /** Run our server under `node --cpu-prof` and print the top self-time functions. */
  profile: boolean;
  verifyOfficialClients: boolean;
  outputDirectory: string;
  quick: boolean;
  /** Each subscriber a user of its own (issue 17); `--same-user`: all one user, as before. @default true */
  distinctUsers: boolean;
  /** Our server's MEMBERSHIP_BATCH_MS; unset: the server's default. 0: one event per membership change. */
  membershipBatchMs: number | undefined;
}

const usage = `npm run bench -- [options]
  --n 1000,5000        subscriber counts (N)
  --repeats 3          interleaved repeats per cell (medians reported)
  --events M           full-speed events per cell (default: ~200k deliveries per cell)
  --rate 5             fixed-rate phase: events per second
  --rate-events 50     fixed-rate phase: number of events (p99 of 50 × N deliveries: fewer made it swing ±40% between runs)
  --window 16          full-speed phase: events in flight
  --loadgens 1         load-generator processes (use 2 past ~19,000 connections: one fd per socket)
  --servers trpc,ws,socketio
  --quick              N=1000, 1 repeat, ~100k deliveries per cell (under a minute)
  --profile            each server (default: only ours) under node --cpu-prof; prints top self-time functions
  --no-verify          skip the official-client checks
  --same-user          every subscriber the same user (default: one user each, so joins are membership changes)
  --membership-batch-ms 200   our server's MEMBERSHIP_BATCH_MS (0: one event per change, as before issue 17)
  --out bench-output   output directory
  --cluster            instead: one process vs processes over Redis (issue 5); --cluster --help for its options
  --agent-output       instead: one agent run streaming to watchers (issue 19): --deltas 10000 --watchers 1000 --window 16
  --store              instead: the durable store off, on PostgreSQL and on PGlite (issue 21): --n 1000 --repeats 3 --variants off,postgres,pglite
  --soak               instead: 20,000 connections held 5 minutes, memory sampled (issue 7); --soak --help for its options
  --cursors            instead: 50 members × 60 Hz cursors, coalesced and not, against Socket.IO volatile emits (issue 18); --cursors --help
  --reconnect-storm    instead: N official clients resubscribed after a SIGTERM and restart (issue 17); --reconnect-storm --help`;

/** A comma-separated list of positive integers (`--n 1000,5000`); throws naming the option. */
export function positiveIntegers(text: string, name: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value <= 0)) throw new Error(`--${name}: expected positive integers, got '${text}'`);
  return values;
}

export function positiveInteger(text: string | undefined, name: string, fallback: number): number {
  return text === undefined ? fallback : positiveIntegers(text, name)[0]!;
}

/** What every fan-out job takes (`--n 1000,5000 --repeats 3 --events 2000 --window 16`), spread into each mode's parseArgs. */
export const jobArgs = {
  n: { type: 'string' },
  repeats: { type: 'string' },
  events: { type: 'string' },
  window: { type: 'string' },
} as const;

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...jobArgs,
      rate: { type: 'string' },
      'rate-events': { type: 'string' },
      loadgens: { type: 'string' },
      servers: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'no-verify': { type: 'boolean', default: false },
      'same-user': { type: 'boolean', default: false },
      'membership-batch-ms': { type: 'string' },
      out: { type: 'string', default: 'bench-output' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const profile = values.profile ?? false;
  const servers = (values.servers?.split(',').map((name) => name.trim()) ?? (profile ? ['trpc'] : [...defaultServerKinds])) as ServerKind[];
  for (const server of servers) if (!serverKinds.includes(server)) throw new Error(`--servers: unknown server '${server}' (known: ${serverKinds.join(', ')})`);
  return {
    subscriberCounts: values.n ? positiveIntegers(values.n, 'n') : quick || profile ? [1000] : [1000, 5000],
    repeats: positiveInteger(values.repeats, 'repeats', quick || profile ? 1 : 3),
    burstEvents: values.events === undefined ? undefined : positiveInteger(values.events, 'events', 1),
    deliveriesPerCell: quick ? 100_000 : profile ? 500_000 : 200_000,
    fixedRate: positiveInteger(values.rate, 'rate', quick ? 10 : 5),
    fixedRateEvents: positiveInteger(values['rate-events'], 'rate-events', quick ? 10 : 50),
    window: positiveInteger(values.window, 'window', 16),
    loadGenerators: positiveInteger(values.loadgens, 'loadgens', 1),
    servers,
    profile,
    verifyOfficialClients: !(values['no-verify'] ?? false),
    outputDirectory: values.out ?? 'bench-output',
    quick,
    distinctUsers: !(values['same-user'] ?? false),
    membershipBatchMs: values['membership-batch-ms'] === undefined ? undefined : Number(values['membership-batch-ms']),
  };
}

/** Full-speed events for one cell: enough deliveries to be steady, bounded both ways. */
export function burstEventsFor(options: Pick<BenchOptions, 'burstEvents' | 'deliveriesPerCell'>, subscribers: number): number {
  if (options.burstEvents !== undefined) return options.burstEvents;
  return Math.min(500, Math.max(20, Math.round(options.deliveriesPerCell / subscribers)));
}
