/**
 * `npm run bench -- --soak`: issue 7's "20,000 subscribed connections held with memory that stays
 * flat over 5 minutes". One server process (our server, embedded bus), or with `--processes P`
 * P processes acting as one service over a redis-server of the run's own; the subscribers split
 * across load-generator processes, all in one room; an admin publishes a low-rate stream so
 * every connection keeps receiving; the server's memory (after a forced GC) and the delivery
 * counts are sampled over IPC every few seconds. Writes bench-output/soak.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import type { LoadProgress, ServerStats } from '../contracts.js';
import { startBenchRedis, type BenchRedis } from '../cluster/redis-server.js';
import { connectSubscribers, disconnectSubscribers, split, waitForConnections } from '../measure-cell.js';
import { openFileLimit, startLoadGenerator, startServer, stopServer, type LoadChannel, type ServerChannel } from '../processes.js';
import { weightedPercentile } from '../statistics.js';
import { parseSoakOptions, type SoakOptions } from './options.js';
import { memorySeries, soakMarkdown, type SoakResult, type SoakSample } from './soak-report.js';

const megabytes = (bytes: number) => bytes / 1024 / 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Raises this process's open-file limit (soft and hard) before any child is forked, so the server
 * and the load generators inherit it: each holds one fd per socket. Raising the hard limit needs
 * CAP_SYS_RESOURCE, which root in a container may lack: then the run goes on at the current
 * limit and says so, and the server's connections stop near that limit (the report shows where).
 */
function raiseOpenFileLimit(options: SoakOptions, problems: string[]): void {
  // The busiest process: a server with its share of the subscribers, or a load generator with its own.
  const perProcess = Math.max(Math.ceil(options.subscribers / options.processes), Math.ceil(options.subscribers / options.loadGenerators));
  const needed = perProcess + 1_024;
  const current = openFileLimit();
  if (current !== undefined && current >= needed) return;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${options.openFiles}:${options.openFiles}`], { stdio: 'pipe', timeout: 10_000 });
  } catch (error) {
    const reason = error instanceof Error && 'stderr' in error ? String(error.stderr).trim() : String(error);
    const problem = `open-file limit ${current} (soft and hard) could not be raised to ${options.openFiles}: ${reason}; each server process can hold at most ~${current} sockets`;
    console.warn(`Warning: ${problem}`);
    problems.push(problem);
  }
}

function childOpenFileLimit(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const match = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

/** Memory and connections of every server process, summed. */
async function serverTotals(servers: readonly ServerChannel[]): Promise<ServerStats> {
  const each: ServerStats[] = await Promise.all(servers.map((server) => server.request('stats', { collectGarbage: true }, 30_000)));
  const sum = (pick: (stats: ServerStats) => number) => each.reduce((total, stats) => total + pick(stats), 0);
  return {
    cpuMicros: sum((stats) => stats.cpuMicros),
    rssBytes: sum((stats) => stats.rssBytes),
    newSpaceBytes: sum((stats) => stats.newSpaceBytes),
    heapUsedBytes: sum((stats) => stats.heapUsedBytes),
    externalBytes: sum((stats) => stats.externalBytes),
    connections: sum((stats) => stats.connections),
    monotonicMicros: each[0]!.monotonicMicros,
  };
}

async function sample(servers: readonly ServerChannel[], generators: readonly LoadChannel[], heldSince: number, connected: number): Promise<SoakSample> {
  const stats = await serverTotals(servers);
  const progress: LoadProgress[] = await Promise.all(generators.map((generator) => generator.request('progress', {}, 30_000)));
  const published = progress[0]!.published;
  return {
    seconds: (performance.now() - heldSince) / 1000,
    rssMb: megabytes(stats.rssBytes),
    heapUsedMb: megabytes(stats.heapUsedBytes),
    externalMb: megabytes(stats.externalBytes),
    heapPlusExternalMb: megabytes(stats.heapUsedBytes + stats.externalBytes),
    serverConnections: stats.connections,
    openSubscribers: progress.reduce((sum, part) => sum + part.openSubscribers, 0),
    unexpectedCloses: progress.reduce((sum, part) => sum + part.unexpectedCloses, 0),
    published,
    received: progress.reduce((sum, part) => sum + part.received, 0),
    expected: published * connected,
  };
}

function describeSample(s: SoakSample): string {
  return (
    `  t=${s.seconds.toFixed(0).padStart(4)} s  RSS ${s.rssMb.toFixed(1)} MB, heap+external ${s.heapPlusExternalMb.toFixed(1)} MB, ` +
    `server conns ${s.serverConnections}, open subscribers ${s.openSubscribers}, received ${s.received.toLocaleString('en-US')} / ${s.expected.toLocaleString('en-US')}`
  );
}

export async function runSoak(argv: string[]): Promise<void> {
  const options = parseSoakOptions(argv);
  const problems: string[] = [];
  raiseOpenFileLimit(options, problems);
  const outputDirectory = resolve(options.outputDirectory);
  mkdirSync(outputDirectory, { recursive: true });

  const generators = Array.from({ length: options.loadGenerators }, (_, index) => startLoadGenerator(index));
  // More than one process: one service over a redis-server of this run's own, as REDIS_URL makes it.
  const redis: BenchRedis | undefined = options.processes > 1 ? await startBenchRedis() : undefined;
  const environment: Record<string, string> = redis ? { BENCH_REDIS_URL: redis.url, BENCH_REDIS_PREFIX: 'soak' } : { BENCH_REDIS_URL: '' };
  const servers = Array.from({ length: options.processes }, () => startServer('trpc', { environment }));
  try {
    await Promise.all(generators.map((generator) => generator.ready));
    const targets = await Promise.all(servers.map((server) => server.ready));
    const openFileLimits: Record<string, number | undefined> = { orchestrator: openFileLimit() };
    servers.forEach((server, index) => (openFileLimits[`server ${index}`] = childOpenFileLimit(server.child.pid)));
    generators.forEach((generator, index) => (openFileLimits[`load generator ${index}`] = childOpenFileLimit(generator.child.pid)));
    console.log(`Open-file limits: ${JSON.stringify(openFileLimits)}`);
    const idle = await serverTotals(servers);

    // Connecting is bounded: 64 handshakes in flight per generator, and a deadline per generator.
    const connectTimeoutMs = 30_000 + Math.max(...split(options.subscribers, options.loadGenerators)) * 15;
    const {
      parts: connections,
      connected,
      failed: connectFailed,
      firstError: connectFirstError,
      seconds: connectSeconds,
    } = await connectSubscribers(generators, options.subscribers, (index) => targets[index % targets.length]!, connectTimeoutMs);
    console.log(`Connected ${connected} of ${options.subscribers} in ${connectSeconds.toFixed(1)} s${connectFailed > 0 ? ` (${connectFailed} failed: ${connectFirstError})` : ''}`);
    if (connectFailed > 0 || connected < options.subscribers) problems.push(`${options.subscribers - connected} of ${options.subscribers} subscribers did not connect (${connectFirstError ?? 'connect deadline'})`);
    // The publisher (generator 0) is connected to process 0; the subscribers of generator i to process i mod P.
    const expectedPerProcess = servers.map((_, process) =>
      connections.reduce((sum, part, index) => sum + (index % servers.length === process ? part.connected : 0), process === 0 ? 1 : 0),
    );
    await Promise.all(servers.map((server, index) => waitForConnections(server, expectedPerProcess[index]!, 30_000)));

    const events = Math.max(1, Math.round(options.minutes * 60 * options.eventsPerSecond));
    await Promise.all(generators.map((generator) => generator.request('arm', { firstSequence: 1, events }, 10_000)));
    const heldSince = performance.now();
    const samples: SoakSample[] = [await sample(servers, generators, heldSince, connected)];
    console.log(describeSample(samples[0]!));

    const publishTimeoutMs = Math.round((events / options.eventsPerSecond) * 1000 + 60_000);
    let publishing = true;
    const published = generators[0]!
      .request('publish', { firstSequence: 1, events, plan: { mode: 'rate', eventsPerSecond: options.eventsPerSecond }, timeoutMs: publishTimeoutMs }, publishTimeoutMs + 30_000)
      .finally(() => (publishing = false));
    const collecting = generators.map((generator) => generator.request('collect', { timeoutMs: publishTimeoutMs + 30_000, maxSamples: 20_000 }, publishTimeoutMs + 60_000));
    // Sampling is bounded by the publish's own deadline; the loop wakes early when publishing ends.
    const holdDeadline = heldSince + publishTimeoutMs;
    for (let tick = 1; publishing && performance.now() < holdDeadline; tick++) {
      const wait = heldSince + tick * options.sampleSeconds * 1000 - performance.now();
      if (wait > 0) await Promise.race([sleep(wait), published.catch(() => undefined)]);
      if (!publishing) break;
      samples.push(await sample(servers, generators, heldSince, connected));
      console.log(describeSample(samples.at(-1)!));
    }
    const publishResult = await published;
    const collected = await Promise.all(collecting);
    samples.push(await sample(servers, generators, heldSince, connected));
    console.log(describeSample(samples.at(-1)!));

    const end = samples.at(-1)!;
    const deliveriesReceived = collected.reduce((sum, part) => sum + part.received, 0);
    const deliveriesExpected = collected.reduce((sum, part) => sum + part.expected, 0);
    const lists = collected.filter((part) => part.samples.length > 0).map((part) => ({ samples: part.samples, weight: part.received / part.samples.length }));
    if (publishResult.publishErrors > 0) problems.push(`${publishResult.publishErrors} publish errors (${publishResult.firstError ?? ''})`);
    if (deliveriesReceived < deliveriesExpected) problems.push(`${deliveriesExpected - deliveriesReceived} of ${deliveriesExpected} deliveries missing`);
    if (end.unexpectedCloses > 0) problems.push(`${end.unexpectedCloses} subscribers closed unexpectedly during the hold`);

    const result: SoakResult = {
      run: {
        date: new Date().toISOString(),
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
        nodeVersion: process.versions.node,
        loadAverageAtEnd: loadavg()[0]!,
        openFileLimits,
        options,
      },
      requested: options.subscribers,
      connected,
      connectFailed,
      ...(connectFirstError !== undefined && { connectFirstError }),
      connectSeconds,
      heldAtEnd: end.openSubscribers,
      serverConnectionsAtEnd: end.serverConnections,
      unexpectedCloses: end.unexpectedCloses,
      holdSeconds: end.seconds,
      eventsPublished: publishResult.published,
      publishErrors: publishResult.publishErrors,
      deliveriesExpected,
      deliveriesReceived,
      latencyP50Ms: weightedPercentile(lists, 50),
      latencyP99Ms: weightedPercentile(lists, 99),
      latencyMaxMs: weightedPercentile(lists, 100),
      heapPlusExternal: memorySeries(samples, (s) => s.heapPlusExternalMb),
      rss: memorySeries(samples, (s) => s.rssMb),
      idleRssMb: megabytes(idle.rssBytes),
      idleHeapPlusExternalMb: megabytes(idle.heapUsedBytes + idle.externalBytes),
      samples,
      problems,
    };
    const name = options.processes === 1 ? 'soak' : `soak-${options.processes}-processes`;
    writeFileSync(resolve(outputDirectory, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const markdown = soakMarkdown(result);
    writeFileSync(resolve(outputDirectory, `${name}.md`), markdown);
    console.log(`\n${markdown}\nWrote ${outputDirectory}/${name}.json, ${name}.md`);
  } finally {
    await disconnectSubscribers(generators);
    await Promise.all(servers.map((server) => stopServer(server)));
    await redis?.stop();
  }
}
