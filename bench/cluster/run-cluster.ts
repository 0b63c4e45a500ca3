/**
 * `npm run bench -- --cluster`: the figures of issues 5 and 20. The same fan-out job against (a)
 * one process on the memory bus, (b) one process over Redis, (c) two processes over Redis, and
 * Socket.IO on its Redis adapter with one (d) and two (e) processes, and on a 3-master Redis
 * Cluster ours with one (f) and two (g) processes and Socket.IO's sharded adapter (h), in one run,
 * interleaved, with repeats; writes bench-output/cluster-results.{json,md}. Starts its own
 * redis-server on a free loopback port, and the cluster when a variant needs it, and stops them
 * at the end (run.ts kills every child, these redis-servers included, on exit, error or Ctrl-C).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openFileLimit, startLoadGenerator } from '../processes.js';
import { describeMachine } from '../report/run-description.js';
import { measureVariantCell, type VariantCell } from './measure-variant.js';
import { redisIdleMicrosPerSecond, runPublishCostBench } from './publish-cost.js';
import { parseClusterBenchOptions, variantLabels, variantRedis, type ClusterBenchOptions } from './options.js';
import { startBenchRedis } from './redis-server.js';
import { startBenchRedisCluster, type BenchRedisCluster } from './redis-cluster.js';
import { clusterResultsMarkdown, type ClusterRunDescription } from './results-markdown.js';
import { pairRatios, summarizeVariants, variantRatios } from './summary.js';

/** Two load generators in every variant: in (c) one per server process, elsewhere both on the one process. */
const loadGeneratorCount = 2;

function checkFileLimit(options: ClusterBenchOptions): void {
  const limit = openFileLimit();
  const perGenerator = Math.ceil(Math.max(...options.subscriberCounts) / loadGeneratorCount) + 64;
  if (limit !== undefined && perGenerator > limit) {
    throw new Error(`A load generator would hold ${perGenerator} sockets but the open-file limit is ${limit}: raise it (ulimit -n) or use a smaller --n`);
  }
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    throw new Error('redis-server is not installed: the cluster benchmark starts its own (Debian: apt-get install redis-server)');
  }
}

function describeCell(cell: VariantCell): string {
  const phase = cell.fullSpeed;
  const redisMicros = phase.sideDeltas?.cpuMicros ?? Number.NaN;
  return (
    `${variantLabels[cell.variant].padEnd(42)} N=${String(cell.subscribers).padEnd(5)} ` +
    `${Math.round(phase.deliveriesPerSecond).toLocaleString('en-US').padStart(8)} deliveries/s, ` +
    `node ${phase.cpuMicrosPerDelivery.toFixed(2).padStart(5)} µs/delivery, ` +
    `Redis ${(redisMicros / phase.events).toFixed(1).padStart(6)} µs/event ${(redisMicros / phase.deliveries).toFixed(3)} µs/delivery, ` +
    `p99 ${cell.fixedRate.latencyP99Ms.toFixed(1)} ms at rate; subscribers ${cell.connectedPerProcess.join('+')}, ` +
    `node CPU ${phase.serverCpuMicrosByProcess.map((micros) => `${(micros / 1000).toFixed(0)}`).join('+')} ms, load average ${cell.loadAverage.toFixed(1)}` +
    (cell.problems.length > 0 ? `\n    problems: ${cell.problems.join('; ')}` : '')
  );
}

export async function runClusterBench(argv: string[]): Promise<void> {
  if (argv.includes('--publish-cost')) return runPublishCostBench(argv);
  const options = parseClusterBenchOptions(argv);
  checkFileLimit(options);
  const version = redisVersion();
  const outputDirectory = resolve(options.outputDirectory);
  mkdirSync(outputDirectory, { recursive: true });
  const started = performance.now();

  const redis = await startBenchRedis();
  let cluster: BenchRedisCluster | undefined;
  try {
    if (options.variants.some((variant) => variantRedis[variant] === 'cluster')) cluster = await startBenchRedisCluster();
    const generators = Array.from({ length: loadGeneratorCount }, (_, index) => startLoadGenerator(index));
    await Promise.all(generators.map((generator) => generator.ready));
    const idleMicrosPerSecond = { redis: await redisIdleMicrosPerSecond(redis), cluster: cluster ? await redisIdleMicrosPerSecond(cluster) : Number.NaN };
    console.log(`Redis idle: one Redis ${idleMicrosPerSecond.redis.toFixed(0)} µs/s, the cluster ${idleMicrosPerSecond.cluster.toFixed(0)} µs/s (summed over its masters)`);
    const redisAtStart = redis.cpu();

    const cells: VariantCell[] = [];
    const total = options.repeats * options.subscriberCounts.length * options.variants.length;
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const subscribers of options.subscriberCounts) {
        // Rotate the order each repeat, so no variant always runs first (cold machine) or last.
        const order = options.variants.map((_, index) => options.variants[(index + repeat - 1) % options.variants.length]!);
        for (const variant of order) {
          const cell = await measureVariantCell(options, variant, subscribers, repeat, generators, { redis, cluster, idleMicrosPerSecond });
          cells.push(cell);
          console.log(`[${cells.length}/${total}] ${describeCell(cell)}`);
        }
      }
    }

    const redisAtEnd = redis.cpu();
    const run: ClusterRunDescription = {
      date: new Date().toISOString(),
      machine: describeMachine(),
      options,
      redis: {
        version,
        clockTicksPerSecond: redis.clockTicksPerSecond,
        wholeRunCpuMsFromStat: (redisAtEnd.statMicros - redisAtStart.statMicros) / 1000,
        wholeRunCpuMsFromSchedstat:
          redisAtEnd.schedstatMicros === undefined || redisAtStart.schedstatMicros === undefined
            ? undefined
            : (redisAtEnd.schedstatMicros - redisAtStart.schedstatMicros) / 1000,
      },
      seconds: (performance.now() - started) / 1000,
    };
    const rows = summarizeVariants(cells);
    const ratioRows = variantRatios(cells);
    const pairRows = pairRatios(cells);
    const markdown = clusterResultsMarkdown(run, rows, ratioRows, pairRows);
    writeFileSync(resolve(outputDirectory, 'cluster-results.json'), `${JSON.stringify({ run, summary: rows, ratios: ratioRows, pairs: pairRows, cells }, null, 2)}\n`);
    writeFileSync(resolve(outputDirectory, 'cluster-results.md'), markdown);
    console.log(`\n${markdown}`);
    console.log(`Wrote ${outputDirectory}/cluster-results.json, cluster-results.md`);
    console.log(`Done in ${run.seconds.toFixed(0)} s`);
  } finally {
    await Promise.all([redis.stop(), cluster?.stop()]);
  }
}
