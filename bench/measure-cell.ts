/**
 * One cell of the benchmark: a fresh server of one kind, N subscribers, then the memory figure,
 * a warm-up, the fixed-rate phase (latency at a light load) and the full-speed phase
 * (deliveries/s, CPU per delivery). A fresh server per cell keeps RSS deltas honest: V8 keeps
 * heap it once grew, so a reused process would report ~0 KB per connection on later rounds.
 */
import { loadavg } from 'node:os';
import type { CollectedLatencies, ConnectResult, PublishPlan, ServerKind, ServerStats, TargetInfo } from './contracts.js';
import { burstEventsFor, type BenchOptions } from './options.js';
import { startServer, stopServer, type LoadChannel, type ServerChannel, type ServerLaunch } from './processes.js';
import { median, weightedPercentile, type WeightedSamples } from './statistics.js';

export interface PhaseResult {
  events: number;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSecond: number;
  cpuMicrosPerDelivery: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /**
   * Medians over the phase's events of each event's first and last delivery (over every
   * generator): when the first subscriber had it, and when the last did. At a fixed rate into a
   * large room the last is the p99's substance: one load generator reads the N frames in turn.
   */
  firstDeliveryMs: number;
  lastDeliveryMs: number;
  /** The busiest load generator's CPU time over its wall time: near 1, it (not the server) set the pace. */
  loadGeneratorCpuShare: number;
  /** The phase on the (first) server's monotonic clock (µs), to read its slice of a CPU profile. */
  serverWindowMicros: [start: number, end: number];
  /** CPU (µs) of every server process across the phase, summed, and per process. */
  serverCpuMicros: number;
  serverCpuMicrosByProcess: number[];
  /** How much each counter of `SideCounters` (the cluster mode's redis-server) grew across the phase, when given. */
  sideDeltas?: Record<string, number>;
}

/** Each event's first delivery (the earliest over generators) and last (the latest), medians over the events any reached. */
function eventSpanMedians(collected: readonly CollectedLatencies[], events: number): { firstDeliveryMs: number; lastDeliveryMs: number } {
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (let event = 0; event < events; event++) {
    const first = collected.map((part) => part.eventFirstMs[event]).filter((value): value is number => typeof value === 'number');
    const last = collected.map((part) => part.eventLastMs[event]).filter((value): value is number => typeof value === 'number');
    if (first.length > 0) firsts.push(Math.min(...first));
    if (last.length > 0) lasts.push(Math.max(...last));
  }
  return { firstDeliveryMs: median(firsts), lastDeliveryMs: median(lasts) };
}

/** Cumulative counters of another process than the servers (CPU µs, commands, ...), read around each phase. */
export type SideCounters = () => Promise<Record<string, number>>;

export interface CellResult {
  server: ServerKind;
  subscribers: number;
  repeat: number;
  connected: number;
  /** From the first handshake to the last subscription started, all N. */
  connectSeconds: number;
  /**
   * The server's CPU (all threads, GC included) from before the first connect until the memory
   * reading after the last (300 ms later, after one forced collection, as for every server), per
   * subscriber: steadier than the wall-clock connect time on a shared machine, where the load
   * generators compete for the same cores.
   */
  connectCpuMicrosPerSubscriber: number;
  /** Of the RSS per connection, what V8's young generation grew by (see ServerStats.newSpaceBytes). */
  newSpaceKbPerConnection: number;
  /** Membership events each subscriber received while the N connected (and one settling moment after). */
  membershipEventsPerSubscriber: number;
  rssKbPerConnection: number;
  /**
   * RSS per connection again once the server has sat idle until V8's memory reducer gave back
   * what the connect burst grew (the young generation, free old-space pages; at most
   * `maxSettleMs`): what holding the connections costs, without the burst's transient, which varied
   * by 3 KB per connection between repeats of one server.
   */
  settledRssKbPerConnection: number;
  heapKbPerConnection: number;
  externalKbPerConnection: number;
  /** The machine's 1-minute load average when the cell ended: above ~2 other work shared the 2 cores. */
  loadAverage: number;
  fixedRate: PhaseResult;
  fullSpeed: PhaseResult;
  problems: string[];
}

const maxSamplesPerGenerator = 20_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `total` split into `parts` near-equal whole shares (the first ones one larger). */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

export interface ConnectedSubscribers {
  /** Per load generator, in order. */
  parts: ConnectResult[];
  connected: number;
  failed: number;
  firstError: string | undefined;
  seconds: number;
}

/**
 * Connects `subscribers` split across the load generators (the first also connects the
 * publisher), generator i to `targetOf(i)`, each within `timeoutMs`.
 */
export async function connectSubscribers(
  generators: readonly LoadChannel[],
  subscribers: number,
  targetOf: (generatorIndex: number) => TargetInfo,
  timeoutMs: number,
  distinctUsers = false,
): Promise<ConnectedSubscribers> {
  const shares = split(subscribers, generators.length);
  const started = performance.now();
  const parts = await Promise.all(
    generators.map((generator, index) =>
      generator.request(
        'connect',
        { target: targetOf(index), subscribers: shares[index]!, publisher: index === 0, timeoutMs, identity: { distinctUsers, userIdPrefix: `bench-user-${index}-` } },
        timeoutMs + 30_000,
      ),
    ),
  );
  return {
    parts,
    connected: parts.reduce((sum, part) => sum + part.connected, 0),
    failed: parts.reduce((sum, part) => sum + part.failed, 0),
    firstError: parts.find((part) => part.firstError)?.firstError,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Closes every generator's sockets (bounded); a generator that fails to answer is left to be killed with the run. */
export async function disconnectSubscribers(generators: readonly LoadChannel[]): Promise<void> {
  await Promise.all(generators.map((generator) => generator.request('disconnect', { timeoutMs: 20_000 }, 30_000).catch(() => undefined)));
}

/** Enough deliveries for the JIT to settle, few enough not to double the cell's time at large N. */
export function warmUpEventsFor(subscribers: number): number {
  return Math.min(50, Math.max(3, Math.round(30_000 / subscribers)));
}

const maxSettleMs = 15_000;
/** A young generation this small has been shrunk back (1.3 MB on this machine once V8 reduces it). */
const settledNewSpaceBytes = 2 * 1024 * 1024;

/**
 * Lets the server sit idle, then collects: V8 shrinks its young generation in a collection that
 * follows a quiet period (the allocation rate then low), not in one right after a burst. Again
 * every few seconds while it is not yet shrunk, up to `maxSettleMs`. Taken before the connections
 * (start-up grows the young generation too, to 8–22 MB) and after them, so that their difference
 * is what the connections hold.
 */
async function settledStats(server: ServerChannel): Promise<ServerStats> {
  const deadline = Date.now() + maxSettleMs;
  for (;;) {
    await sleep(5_000);
    const stats = await server.request('stats', { collectGarbage: true }, 20_000);
    if (stats.newSpaceBytes <= settledNewSpaceBytes || Date.now() >= deadline) return stats;
  }
}

export async function waitForConnections(server: ServerChannel, expected: number, timeoutMs: number): Promise<ServerStats> {
  const deadline = Date.now() + timeoutMs;
  let stats = await server.request('stats', { collectGarbage: false }, 10_000);
  while (stats.connections !== expected && Date.now() < deadline) {
    await sleep(100);
    stats = await server.request('stats', { collectGarbage: false }, 10_000);
  }
  return stats;
}

/**
 * Runs the publishing phases of one cell: the first generator publishes, every generator
 * records. Several servers (the cluster mode) have their CPU summed; `sideCounters` reads one
 * more process's counters around the phase.
 */
export class PhaseRunner {
  private nextSequence = 1;
  readonly problems: string[] = [];

  constructor(
    private readonly servers: readonly ServerChannel[],
    private readonly generators: readonly LoadChannel[],
    private readonly subscribers: number,
    private readonly sideCounters?: SideCounters,
  ) {}

  private async serverStats(): Promise<ServerStats[]> {
    return Promise.all(this.servers.map((server) => server.request('stats', { collectGarbage: false }, 10_000)));
  }

  async phase(name: string, events: number, plan: PublishPlan): Promise<PhaseResult> {
    const firstSequence = this.nextSequence;
    this.nextSequence += events;
    const expectedSeconds = plan.mode === 'rate' ? events / plan.eventsPerSecond : (events * this.subscribers) / 5_000;
    const timeoutMs = Math.round(expectedSeconds * 1000 + 15_000);
    await Promise.all(this.generators.map((generator) => generator.request('arm', { firstSequence, events }, 10_000)));
    const before = await this.serverStats();
    const sideBefore = await this.sideCounters?.();
    const collecting = this.generators.map((generator) => generator.request('collect', { timeoutMs, maxSamples: maxSamplesPerGenerator }, timeoutMs + 10_000));
    const published = await this.generators[0]!.request('publish', { firstSequence, events, plan, timeoutMs }, timeoutMs + 10_000);
    const collected = await Promise.all(collecting);
    const after = await this.serverStats();
    const sideAfter = await this.sideCounters?.();
    const serverCpuMicrosByProcess = after.map((stats, index) => stats.cpuMicros - before[index]!.cpuMicros);
    const serverCpuMicros = serverCpuMicrosByProcess.reduce((sum, micros) => sum + micros, 0);

    const deliveries = collected.reduce((sum, part) => sum + part.received, 0);
    const expectedDeliveries = collected.reduce((sum, part) => sum + part.expected, 0);
    const lastReceiveAt = Math.max(...collected.map((part) => part.lastReceiveAt));
    if (published.publishErrors > 0) this.problems.push(`${name}: ${published.publishErrors} publish errors (${published.firstError ?? ''})`);
    if (deliveries < expectedDeliveries) this.problems.push(`${name}: ${expectedDeliveries - deliveries} of ${expectedDeliveries} deliveries missing`);
    const closes = collected.reduce((sum, part) => sum + part.unexpectedCloses, 0);
    if (closes > 0) this.problems.push(`${name}: ${closes} subscribers closed unexpectedly`);
    const lists: WeightedSamples[] = collected
      .filter((part) => part.samples.length > 0)
      .map((part) => ({ samples: part.samples, weight: part.received / part.samples.length }));
    return {
      events,
      deliveries,
      expectedDeliveries,
      deliveriesPerSecond: deliveries / ((lastReceiveAt - published.startedAt) / 1000),
      cpuMicrosPerDelivery: deliveries > 0 ? serverCpuMicros / deliveries : Number.NaN,
      latencyP50Ms: weightedPercentile(lists, 50),
      latencyP99Ms: weightedPercentile(lists, 99),
      latencyMaxMs: weightedPercentile(lists, 100),
      ...eventSpanMedians(collected, events),
      loadGeneratorCpuShare: Math.max(...collected.map((part) => part.cpuMicros / 1000 / Math.max(1, part.wallMilliseconds))),
      serverWindowMicros: [before[0]!.monotonicMicros, after[0]!.monotonicMicros],
      serverCpuMicros,
      serverCpuMicrosByProcess,
      ...(sideBefore && sideAfter && { sideDeltas: Object.fromEntries(Object.entries(sideAfter).map(([name, value]) => [name, value - (sideBefore[name] ?? 0)])) }),
    };
  }
}

export async function measureCell(
  options: BenchOptions,
  kind: ServerKind,
  subscribers: number,
  repeat: number,
  generators: readonly LoadChannel[],
  launch: ServerLaunch = {},
): Promise<CellResult> {
  const batching: Record<string, string> = kind === 'trpc' && options.membershipBatchMs !== undefined ? { BENCH_MEMBERSHIP_BATCH_MS: String(options.membershipBatchMs) } : {};
  const server = startServer(kind, { ...launch, environment: { ...launch.environment, ...batching } });
  try {
    const target = await server.ready;
    // Settled first: start-up leaves the young generation grown by 8–22 MB, which a baseline
    // taken at once counted against the connections' memory (or, shrunk later, in their favour).
    const baseline = await settledStats(server);
    // Distinct users fill the room one join at a time: before issue 17 that took minutes at N = 5,000.
    const connectTimeoutMs = 30_000 + subscribers * (options.distinctUsers ? 60 : 10);
    const connecting = await connectSubscribers(generators, subscribers, () => target, connectTimeoutMs, options.distinctUsers);
    const { connected, failed, firstError } = connecting;
    const connectSeconds = Math.max(...connecting.parts.map((part) => part.milliseconds)) / 1000;
    const cell = new PhaseRunner([server], generators, connected);
    const connectProblem = `${failed} of ${subscribers} subscribers failed to connect (${firstError ?? ''})`;

    // +1: the publisher's connection. Memory is measured before any event is sent.
    await waitForConnections(server, connected + 1, 10_000);
    await sleep(300);
    const progress = await Promise.all(generators.map((generator) => generator.request('progress', {}, 10_000)));
    const membershipEvents = progress.reduce((sum, part) => sum + part.membershipEvents, 0);
    const loaded = await server.request('stats', { collectGarbage: true }, 20_000);
    const perConnectionKb = (bytes: number) => bytes / Math.max(1, connected) / 1024;
    const settled = await settledStats(server);

    await cell.phase('warm-up', warmUpEventsFor(subscribers), { mode: 'burst', window: options.window });
    cell.problems.length = 0; // the warm-up's own misses are not measured
    if (failed > 0) cell.problems.push(connectProblem);
    const fixedRate = await cell.phase('fixed rate', options.fixedRateEvents, { mode: 'rate', eventsPerSecond: options.fixedRate });
    const fullSpeed = await cell.phase('full speed', burstEventsFor(options, subscribers), { mode: 'burst', window: options.window });

    return {
      server: kind,
      subscribers,
      repeat,
      connected,
      connectSeconds,
      connectCpuMicrosPerSubscriber: (loaded.cpuMicros - baseline.cpuMicros) / Math.max(1, connected),
      membershipEventsPerSubscriber: membershipEvents / Math.max(1, connected),
      rssKbPerConnection: perConnectionKb(loaded.rssBytes - baseline.rssBytes),
      settledRssKbPerConnection: perConnectionKb(settled.rssBytes - baseline.rssBytes),
      newSpaceKbPerConnection: perConnectionKb(loaded.newSpaceBytes - baseline.newSpaceBytes),
      heapKbPerConnection: perConnectionKb(loaded.heapUsedBytes - baseline.heapUsedBytes),
      externalKbPerConnection: perConnectionKb(loaded.externalBytes - baseline.externalBytes),
      loadAverage: loadavg()[0]!,
      fixedRate,
      fullSpeed,
      problems: cell.problems,
    };
  } finally {
    await disconnectSubscribers(generators);
    await stopServer(server);
  }
}
