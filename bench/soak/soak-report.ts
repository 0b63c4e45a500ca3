/**
 * The soak's figures and its markdown: memory at the start of the hold, at the end and at its
 * highest, the least-squares slope (MB per minute) of heap + external and of RSS, connections
 * held and dropped, deliveries expected versus received.
 */
import type { SoakOptions } from './options.js';

/** One sample of the server (after a forced GC) and of the load generators, during the hold. */
export interface SoakSample {
  /** Seconds since the hold began (all connections open, no event sent yet). */
  seconds: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  heapPlusExternalMb: number;
  serverConnections: number;
  openSubscribers: number;
  unexpectedCloses: number;
  published: number;
  received: number;
  /** Published events times connected subscribers: what should have arrived, bar the events in flight. */
  expected: number;
}

export interface MemorySeries {
  startMb: number;
  endMb: number;
  maxMb: number;
  /** Least-squares slope over the whole hold. */
  slopeMbPerMinute: number;
  /** The same over the second half only: whether growth, if any, settles. */
  secondHalfSlopeMbPerMinute: number;
}

export interface SoakResult {
  run: { date: string; machine: string; nodeVersion: string; loadAverageAtEnd: number; openFileLimits: Record<string, number | undefined>; options: SoakOptions };
  requested: number;
  connected: number;
  connectFailed: number;
  connectFirstError?: string;
  connectSeconds: number;
  /** Subscribers still open at the end of the hold, per the load generators, and the server's own count (publisher included). */
  heldAtEnd: number;
  serverConnectionsAtEnd: number;
  unexpectedCloses: number;
  holdSeconds: number;
  eventsPublished: number;
  publishErrors: number;
  deliveriesExpected: number;
  deliveriesReceived: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  heapPlusExternal: MemorySeries;
  rss: MemorySeries;
  /** Server memory before any connection and after connecting (both after a forced GC). */
  idleRssMb: number;
  idleHeapPlusExternalMb: number;
  samples: SoakSample[];
  problems: string[];
}

/** Least-squares slope of y over x. */
export function leastSquaresSlope(points: ReadonlyArray<readonly [x: number, y: number]>): number {
  if (points.length < 2) return Number.NaN;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  let covariance = 0;
  let variance = 0;
  for (const [x, y] of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}

export function memorySeries(samples: readonly SoakSample[], pick: (sample: SoakSample) => number): MemorySeries {
  const points = samples.map((sample) => [sample.seconds / 60, pick(sample)] as const);
  const lastMinute = points.at(-1)?.[0] ?? 0;
  return {
    startMb: points[0]?.[1] ?? Number.NaN,
    endMb: points.at(-1)?.[1] ?? Number.NaN,
    maxMb: Math.max(...points.map(([, y]) => y)),
    slopeMbPerMinute: leastSquaresSlope(points),
    secondHalfSlopeMbPerMinute: leastSquaresSlope(points.filter(([x]) => x >= lastMinute / 2)),
  };
}

const mb = (value: number) => value.toFixed(1);
const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
const count = (value: number) => value.toLocaleString('en-US');

export function soakMarkdown(result: SoakResult): string {
  const { run } = result;
  const memoryRow = (label: string, series: MemorySeries) =>
    `| ${label} | ${mb(series.startMb)} | ${mb(series.endMb)} | ${mb(series.maxMb)} | ${signed(series.endMb - series.startMb)} | ${signed(series.slopeMbPerMinute)} | ${signed(series.secondHalfSlopeMbPerMinute)} |`;
  const lines = [
    `# Soak: ${count(result.requested)} subscribers held for ${run.options.minutes} min (issue 7)`,
    '',
    `${run.date}, ${run.machine}, Node ${run.nodeVersion}; our server (${run.options.processes === 1 ? 'one process, embedded bus' : `${run.options.processes} processes over one Redis, load generator i connected to process i mod ${run.options.processes}; memory summed over the processes`}), ` +
      `${run.options.loadGenerators} load generators, one room, ${run.options.eventsPerSecond} event/s published by an admin; ` +
      `server memory sampled every ${run.options.sampleSeconds} s after a forced GC. Load average at the end ${run.loadAverageAtEnd.toFixed(1)}.`,
    '',
    '| connections | |',
    '|---|---|',
    `| requested / connected | ${count(result.requested)} / ${count(result.connected)} (in ${result.connectSeconds.toFixed(0)} s)${result.connectFailed > 0 ? `, ${count(result.connectFailed)} failed: ${result.connectFirstError ?? ''}` : ''} |`,
    `| still open at the end (load generators / server, publisher included) | ${count(result.heldAtEnd)} / ${count(result.serverConnectionsAtEnd)} |`,
    `| closed unexpectedly during the hold | ${count(result.unexpectedCloses)} |`,
    `| deliveries expected / received | ${count(result.deliveriesExpected)} / ${count(result.deliveriesReceived)} (${result.eventsPublished} events, ${result.publishErrors} publish errors) |`,
    `| latency p50 / p99 / max | ${result.latencyP50Ms.toFixed(1)} / ${result.latencyP99Ms.toFixed(1)} / ${result.latencyMaxMs.toFixed(1)} ms |`,
    '',
    `Server memory before any connection: RSS ${mb(result.idleRssMb)} MB, heap + external ${mb(result.idleHeapPlusExternalMb)} MB.`,
    '',
    '| server memory over the hold (MB) | start | end | max | end − start | slope MB/min | slope, 2nd half |',
    '|---|---|---|---|---|---|---|',
    memoryRow('heap + external', result.heapPlusExternal),
    memoryRow('RSS', result.rss),
    '',
    '<details><summary>samples</summary>',
    '',
    '| s | RSS MB | heap MB | external MB | server conns | open subs | published | received / expected |',
    '|---|---|---|---|---|---|---|---|',
    ...result.samples.map(
      (s) =>
        `| ${s.seconds.toFixed(0)} | ${mb(s.rssMb)} | ${mb(s.heapUsedMb)} | ${mb(s.externalMb)} | ${count(s.serverConnections)} | ${count(s.openSubscribers)} | ${s.published} | ${count(s.received)} / ${count(s.expected)} |`,
    ),
    '',
    '</details>',
  ];
  if (result.problems.length > 0) lines.push('', '**Problems**:', ...result.problems.map((problem) => `- ${problem}`));
  return `${lines.join('\n')}\n`;
}
