/**
 * `npm run bench -- --store`: what the durable store costs delivery (issue 21). The fan-out job
 * (N subscribers in one room, an admin publishing at full speed, every event a durable room event
 * and so one stored row) against our server with the store off, on PostgreSQL (a throwaway
 * database per cell on DATABASE_ADMIN_URL, default the machine's 127.0.0.1:5432) and on PGlite (a
 * fresh copy of a migrated data directory per cell), interleaved, with repeats. Reports node CPU
 * per delivery, p99 at a fixed rate, rows written per second, and the ratios to "off" taken
 * side by side within each repeat. PostgreSQL's own CPU (every process of its user on the
 * machine, which other work may share) is read around each phase and reported apart.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { SqlStore } from '../../server/store/sql-store.js';
import { PhaseRunner, connectSubscribers, disconnectSubscribers, waitForConnections, warmUpEventsFor, type PhaseResult } from '../measure-cell.js';
import { burstEventsFor, jobArgs, positiveInteger, positiveIntegers } from '../options.js';
import { startLoadGenerator, startServer, stopServer, type LoadChannel } from '../processes.js';
import { median } from '../statistics.js';

type StoreVariant = 'off' | 'postgres' | 'pglite';
const variants: StoreVariant[] = ['off', 'postgres', 'pglite'];
const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface StoreCell {
  variant: StoreVariant;
  subscribers: number;
  repeat: number;
  fixedRate: PhaseResult;
  fullSpeed: PhaseResult;
  /** Rows the store wrote during the full-speed phase, per second of it. */
  rowsPerSecond: number;
  /** CPU µs of all PostgreSQL processes during the full-speed phase (shared server: an upper bound). */
  postgresCpuMicros: number;
  loadAverage: number;
  problems: string[];
}

/** CPU (µs) of every `postgres` process on the machine, from /proc (USER_HZ ticks). */
function postgresCpuMicros(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm !== 'postgres') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks / 100) * 1_000_000;
}

async function onAdmin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

/** A migrated PGlite directory, made once (initdb in WebAssembly takes seconds), copied per cell. */
async function pgliteTemplate(): Promise<string> {
  const directory = mkdtempSync(join(tmpdir(), 'bench-pglite-template-'));
  const store = new SqlStore({ location: { kind: 'pglite', dataDir: directory }, onError: (error) => console.error(error) });
  await store.start();
  await store.stop();
  return directory;
}

async function measureStoreCell(
  variant: StoreVariant,
  subscribers: number,
  repeat: number,
  generators: readonly LoadChannel[],
  options: { fixedRate: number; fixedRateEvents: number; burstEvents: number | undefined; deliveriesPerCell: number; window: number; template: string },
): Promise<StoreCell> {
  const database = `bench_store_${process.pid}_${repeat}_${subscribers}`;
  const dataDir = variant === 'pglite' ? mkdtempSync(join(tmpdir(), 'bench-pglite-')) : undefined;
  const environment: Record<string, string> = { BENCH_REDIS_URL: '', BENCH_DATABASE_URL: '', BENCH_DATA_DIR: '' };
  if (variant === 'postgres') {
    await onAdmin(`create database ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    environment.BENCH_DATABASE_URL = url.toString();
  }
  if (dataDir) {
    cpSync(options.template, dataDir, { recursive: true });
    environment.BENCH_DATA_DIR = dataDir;
  }
  const server = startServer('trpc', { environment });
  try {
    const target = await server.ready;
    const { connected, failed, firstError } = await connectSubscribers(generators, subscribers, () => target, 30_000 + subscribers * 10);
    await waitForConnections(server, connected + 1, 10_000);
    const side = async () => ({ rows: (await server.request('stats', { collectGarbage: false }, 10_000)).storeRowsWritten ?? 0, postgresCpu: postgresCpuMicros() });
    const cell = new PhaseRunner([server], generators, connected, side);
    await cell.phase('warm-up', warmUpEventsFor(subscribers), { mode: 'burst', window: options.window });
    cell.problems.length = 0;
    if (failed > 0) cell.problems.push(`${failed} of ${subscribers} subscribers failed to connect (${firstError ?? ''})`);
    const fixedRate = await cell.phase('fixed rate', options.fixedRateEvents, { mode: 'rate', eventsPerSecond: options.fixedRate });
    const fullSpeed = await cell.phase('full speed', burstEventsFor(options, subscribers), { mode: 'burst', window: options.window });
    const seconds = fullSpeed.deliveries / fullSpeed.deliveriesPerSecond;
    return {
      variant,
      subscribers,
      repeat,
      fixedRate,
      fullSpeed,
      rowsPerSecond: (fullSpeed.sideDeltas?.rows ?? 0) / seconds,
      postgresCpuMicros: fullSpeed.sideDeltas?.postgresCpu ?? 0,
      loadAverage: loadavg()[0]!,
      problems: cell.problems,
    };
  } finally {
    await disconnectSubscribers(generators);
    await stopServer(server);
    if (variant === 'postgres') await onAdmin(`drop database if exists ${database} with (force)`).catch((error: unknown) => console.error(error));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runStoreBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...jobArgs,
      variants: { type: 'string' },
      out: { type: 'string', default: 'bench-output' },
    },
  });
  const subscriberCounts = values.n ? positiveIntegers(values.n, 'n') : [1000];
  const repeats = positiveInteger(values.repeats, 'repeats', 3);
  const chosen = (values.variants?.split(',') ?? variants) as StoreVariant[];
  const options = {
    fixedRate: 10,
    fixedRateEvents: 30,
    burstEvents: values.events ? positiveInteger(values.events, 'events', 0) : undefined,
    deliveriesPerCell: 200_000,
    window: positiveInteger(values.window, 'window', 16),
    template: chosen.includes('pglite') ? await pgliteTemplate() : '',
  };
  const generators = [startLoadGenerator(0), startLoadGenerator(1)];
  await Promise.all(generators.map((generator) => generator.ready));
  const cells: StoreCell[] = [];
  try {
    for (let repeat = 1; repeat <= repeats; repeat++) {
      for (const subscribers of subscriberCounts) {
        const order = chosen.map((_, index) => chosen[(index + repeat - 1) % chosen.length]!);
        for (const variant of order) {
          const cell = await measureStoreCell(variant, subscribers, repeat, generators, options);
          cells.push(cell);
          console.log(
            `${variant.padEnd(8)} N=${subscribers} r${repeat}: ${cell.fullSpeed.cpuMicrosPerDelivery.toFixed(3)} µs/delivery, ` +
              `${Math.round(cell.fullSpeed.deliveriesPerSecond)} deliveries/s, p99 ${cell.fixedRate.latencyP99Ms.toFixed(1)} ms at ${options.fixedRate}/s, ` +
              `${Math.round(cell.rowsPerSecond)} rows/s, postgres CPU ${(cell.postgresCpuMicros / 1000).toFixed(0)} ms, load ${cell.loadAverage.toFixed(1)}` +
              (cell.problems.length > 0 ? `\n    problems: ${cell.problems.join('; ')}` : ''),
          );
        }
      }
    }
  } finally {
    if (options.template) rmSync(options.template, { recursive: true, force: true });
  }
  const lines = ['| N | store | CPU µs/delivery (median) | ÷ off (median of paired ratios) | p99 ms at 10/s | ÷ off | deliveries/s | rows written/s | PostgreSQL CPU ms (full speed) |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const subscribers of subscriberCounts) {
    for (const variant of chosen) {
      const mine = cells.filter((cell) => cell.variant === variant && cell.subscribers === subscribers);
      const paired = (read: (cell: StoreCell) => number) =>
        median(mine.map((cell) => read(cell) / read(cells.find((other) => other.variant === 'off' && other.subscribers === subscribers && other.repeat === cell.repeat)!)));
      const hasOff = cells.some((cell) => cell.variant === 'off');
      lines.push(
        `| ${subscribers} | ${variant} | ${median(mine.map((cell) => cell.fullSpeed.cpuMicrosPerDelivery)).toFixed(3)} | ${hasOff ? paired((cell) => cell.fullSpeed.cpuMicrosPerDelivery).toFixed(3) : '–'} | ` +
          `${median(mine.map((cell) => cell.fixedRate.latencyP99Ms)).toFixed(1)} | ${hasOff ? paired((cell) => cell.fixedRate.latencyP99Ms).toFixed(2) : '–'} | ` +
          `${Math.round(median(mine.map((cell) => cell.fullSpeed.deliveriesPerSecond)))} | ${Math.round(median(mine.map((cell) => cell.rowsPerSecond)))} | ${(median(mine.map((cell) => cell.postgresCpuMicros)) / 1000).toFixed(0)} |`,
      );
    }
  }
  const table = lines.join('\n');
  const outputDirectory = resolve(values.out ?? 'bench-output');
  mkdirSync(outputDirectory, { recursive: true });
  writeFileSync(join(outputDirectory, 'store-results.json'), `${JSON.stringify({ date: new Date().toISOString(), options, cells }, null, 2)}\n`);
  console.log(`\n${table}\n\nWrote ${outputDirectory}/store-results.json`);
}
