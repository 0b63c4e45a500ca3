/**
 * `npm run bench`: the fan-out benchmark of issue 7. Starts each server under test in its own
 * process (a fresh one per cell), N subscribers in load-generator processes, publishes into one
 * room at a fixed rate and at full speed, and writes bench-output/results.{json,md} and
 * chart.svg. `--profile` runs our server under `node --cpu-prof` and prints where the time goes.
 * `--cluster` runs bench/cluster/ instead: one process versus processes over Redis (issue 5).
 * `--soak` runs bench/soak/ instead: 20,000 connections held for 5 minutes, memory sampled.
 * `--cursors` runs bench/cursors/ instead: 50 members moving cursors at 60 Hz (issue 18).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runClusterBench } from './cluster/run-cluster.js';
import { runSoak } from './soak/run-soak.js';
import { runCursorBench } from './cursors/run-cursors.js';
import { serverLabels, type ServerKind } from './contracts.js';
import { measureCell, type CellResult } from './measure-cell.js';
import { parseBenchOptions, type BenchOptions } from './options.js';
import { runAgentOutputBench } from './agent-output/run-agent-output.js';
import { runStoreBench } from './store/run-store.js';
import { runReconnectStorm } from './reconnect-storm/run-reconnect-storm.js';
import { killAllChildren, openFileLimit, startLoadGenerator, startServer, stopServer, type LoadChannel } from './processes.js';
import { chartSvg } from './report/chart-svg.js';
import { formatProfileSummary, readProfile, summarizeProfile } from './report/profile-summary.js';
import { resultsMarkdown } from './report/results-markdown.js';
import { describeRun } from './report/run-description.js';
import { ratios, summarize } from './summary.js';

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

function checkFileLimit(options: BenchOptions): void {
  const limit = openFileLimit();
  const perGenerator = Math.ceil(Math.max(...options.subscriberCounts) / options.loadGenerators) + 64;
  if (limit !== undefined && perGenerator > limit) {
    throw new Error(
      `A load generator would hold ${perGenerator} sockets but the open-file limit is ${limit}: ` +
        `raise it (ulimit -n) or split the load with --loadgens ${Math.ceil((perGenerator * options.loadGenerators) / (limit - 64))}`,
    );
  }
}

async function verifyOfficialClients(options: BenchOptions, generator: LoadChannel): Promise<string[]> {
  const checks: string[] = [];
  for (const kind of options.servers.filter((server): server is ServerKind => server === 'trpc' || server === 'socketio')) {
    const server = startServer(kind);
    try {
      const target = await server.ready;
      checks.push(...(await generator.request('verifyOfficialClients', { target }, 30_000)).checks);
    } finally {
      await stopServer(server);
    }
  }
  return checks;
}

/** The busiest profile in the directory: the main thread's, not the module loader's. */
function mainThreadProfile(directory: string): string {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => resolve(directory, name));
  if (files.length === 0) throw new Error(`No CPU profile was written to ${directory}`);
  return files.map((file) => ({ file, busy: summarizeProfile(readProfile(file), file, 0).busyMilliseconds })).sort((a, b) => b.busy - a.busy)[0]!.file;
}

/** The delivery phases' slices of a cell's profile (connecting and start-up excluded), then the whole process. */
function profileReport(file: string, cell: CellResult): string {
  const profile = readProfile(file);
  const window = (label: string, phase: CellResult['fixedRate']) => ({ label, startMicros: phase.serverWindowMicros[0], endMicros: phase.serverWindowMicros[1] });
  const fullSpeed = window('full speed', cell.fullSpeed);
  const fixedRate = window('fixed rate', cell.fixedRate);
  const name = `${serverLabels[cell.server]}, N=${cell.subscribers}`;
  return [
    `CPU profile ${file}`,
    formatProfileSummary(summarizeProfile(profile, `${name}, full-speed phase (${cell.fullSpeed.deliveries.toLocaleString('en-US')} deliveries)`, 25, [fullSpeed])),
    formatProfileSummary(summarizeProfile(profile, `${name}, fixed-rate phase (${cell.fixedRate.deliveries.toLocaleString('en-US')} deliveries)`, 15, [fixedRate])),
    formatProfileSummary(summarizeProfile(profile, `${name}, whole process (start-up and connecting included)`, 10)),
  ].join('\n\n');
}

function describeCell(cell: CellResult): string {
  const f = cell.fullSpeed;
  return (
    `${serverLabels[cell.server].padEnd(29)} N=${String(cell.subscribers).padEnd(6)} ` +
    `connect ${cell.connectSeconds.toFixed(2)} s (${Math.round(cell.connectCpuMicrosPerSubscriber)} µs server CPU each), ${cell.membershipEventsPerSubscriber.toFixed(1)} membership events/subscriber, ` +
    `${Math.round(f.deliveriesPerSecond).toLocaleString('en-US').padStart(8)} deliveries/s, ` +
    `${f.cpuMicrosPerDelivery.toFixed(2).padStart(6)} µs CPU/delivery, ` +
    `p99 ${cell.fixedRate.latencyP99Ms.toFixed(1)} ms at rate (an event's first / last delivery ${cell.fixedRate.firstDeliveryMs.toFixed(1)} / ${cell.fixedRate.lastDeliveryMs.toFixed(1)}) / ${f.latencyP99Ms.toFixed(1)} ms full speed, ` +
    `${cell.rssKbPerConnection.toFixed(1)} KB/conn RSS (young generation ${cell.newSpaceKbPerConnection.toFixed(1)}, settled ${cell.settledRssKbPerConnection.toFixed(1)}); load generator busy ${Math.round(cell.fixedRate.loadGeneratorCpuShare * 100)}% / ` +
    `${Math.round(f.loadGeneratorCpuShare * 100)}%, load average ${cell.loadAverage.toFixed(1)}` +
    (cell.problems.length > 0 ? `\n    problems: ${cell.problems.join('; ')}` : '')
  );
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  checkFileLimit(options);
  const outputDirectory = resolve(options.outputDirectory);
  mkdirSync(outputDirectory, { recursive: true });
  const started = performance.now();

  const generators = Array.from({ length: options.loadGenerators }, (_, index) => startLoadGenerator(index));
  await Promise.all(generators.map((generator) => generator.ready));

  const officialClientChecks = options.verifyOfficialClients ? await verifyOfficialClients(options, generators[0]!) : [];
  for (const check of officialClientChecks) console.log(`✓ ${check}`);

  const cells: CellResult[] = [];
  const profiles: Array<{ file: string; cell: CellResult }> = [];
  const total = options.repeats * options.subscriberCounts.length * options.servers.length;
  for (let repeat = 1; repeat <= options.repeats; repeat++) {
    for (const subscribers of options.subscriberCounts) {
      // Rotate the order each repeat, so no server always runs first (cold machine) or last.
      const order = options.servers.map((_, index) => options.servers[(index + repeat - 1) % options.servers.length]!);
      for (const kind of order) {
        // One directory per profiled cell: the tsx loader thread writes its own profile beside the main thread's.
        const profileDirectory = resolve(outputDirectory, `profile-${kind}-N${subscribers}-r${repeat}-${Date.now()}`);
        const launch = options.profile ? { cpuProfileDirectory: profileDirectory } : {};
        const cell = await measureCell(options, kind, subscribers, repeat, generators, launch);
        cells.push(cell);
        if (launch.cpuProfileDirectory) profiles.push({ file: mainThreadProfile(profileDirectory), cell });
        console.log(`[${cells.length}/${total}] ${describeCell(cell)}`);
      }
    }
  }

  const rows = summarize(cells);
  const ratioRows = ratios(rows);
  const run = describeRun(options, officialClientChecks);
  if (options.profile) {
    const texts = profiles.map(({ file, cell }) => profileReport(file, cell));
    writeFileSync(resolve(outputDirectory, 'profile-summary.txt'), `${texts.join('\n\n')}\n`);
    console.log(`\n${texts.join('\n\n')}`);
  } else {
    writeFileSync(resolve(outputDirectory, 'results.json'), `${JSON.stringify({ run, summary: rows, ratios: ratioRows, cells }, null, 2)}\n`);
    writeFileSync(resolve(outputDirectory, 'results.md'), resultsMarkdown(run, rows, ratioRows));
    writeFileSync(resolve(outputDirectory, 'chart.svg'), chartSvg(run, rows));
    console.log(`\n${resultsMarkdown(run, rows, ratioRows)}`);
    console.log(`Wrote ${outputDirectory}/results.json, results.md, chart.svg`);
  }
  console.log(`Done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

// `--cluster`: the one-process-versus-Redis figures of issue 5 (bench/cluster/); `--soak`: the
// long hold of issue 7 (bench/soak/). Same children and clean-up.
const argv = process.argv.slice(2);
const benchmark = argv.includes('--store')
  ? runStoreBench(argv.filter((argument) => argument !== '--store'))
  : argv.includes('--reconnect-storm')
  ? runReconnectStorm(argv.filter((argument) => argument !== '--reconnect-storm'))
  : argv.includes('--agent-output')
  ? runAgentOutputBench(argv.filter((argument) => argument !== '--agent-output'))
  : argv.includes('--cluster')
  ? runClusterBench(argv.filter((argument) => argument !== '--cluster'))
  : argv.includes('--soak')
    ? runSoak(argv.filter((argument) => argument !== '--soak'))
    : argv.includes('--cursors')
      ? runCursorBench(argv.filter((argument) => argument !== '--cursors'))
      : main();

benchmark
  .then(() => {
    killAllChildren();
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  });
