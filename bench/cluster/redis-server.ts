/**
 * The cluster mode's own redis-server: on a free loopback port, no persistence, tracked so that
 * it dies with the orchestrator (exit, error or Ctrl-C). It is not a node process that could
 * report `process.cpuUsage()`, so its CPU time is read from /proc.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { trackChild } from '../processes.js';

export interface RedisCpuReading {
  /** utime + stime of /proc/<pid>/stat (every thread), µs; resolution one clock tick (1/CLK_TCK s). */
  statMicros: number;
  /** Run time of every thread from /proc/<pid>/task/<tid>/schedstat, µs (nanosecond resolution); undefined without schedstat. */
  schedstatMicros: number | undefined;
}

/** Counters from INFO stats and INFO commandstats. */
type RedisInfoCounters = {
  /** Commands executed (INFO commandstats, INFO itself excluded); a script's own calls count too. */
  commands: number;
  /** Lua script calls (EVAL/EVALSHA/FCALL) and the time inside them (µs, the calls they make included). */
  scriptCalls: number;
  scriptMicros: number;
  /** Socket reads and writes (INFO stats): wake-ups, so they show how well commands arrive batched. */
  socketReads: number;
  socketWrites: number;
  /** used_cpu_sys + used_cpu_user of INFO cpu, µs: Redis's own getrusage, a cross-check of the /proc figure. */
  infoCpuMicros: number;
};

/**
 * Cumulative counters of the redis-server, read around each phase (their deltas are what the
 * report uses). A type, not an interface, so that it is a `Record<string, number>`.
 */
export type RedisCounters = RedisInfoCounters & {
  /** The finest CPU figure available (schedstat, else stat), µs. */
  cpuMicros: number;
  /** utime + stime of /proc/<pid>/stat, µs (clock-tick resolution). */
  statCpuMicros: number;
};

export interface BenchRedis {
  url: string;
  pid: number;
  clockTicksPerSecond: number;
  cpu(): RedisCpuReading;
  /** CPU from /proc, then INFO (one round trip on a connection of its own). */
  counters(): Promise<RedisCounters>;
  /** Removes every key, so one cell's processes leave nothing behind for the next. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100; // Linux's USER_HZ on every common architecture
  }
}

/** utime + stime in clock ticks; fields 14 and 15, counted after the `(comm)` field, which may hold spaces. */
function statTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function schedstatNanos(pid: number): number | undefined {
  try {
    let total = 0;
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      total += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    }
    return Number.isFinite(total) ? total : undefined;
  } catch {
    return undefined;
  }
}

/** The CPU time of a redis-server process so far. */
export function processCpu(pid: number, ticks: number): RedisCpuReading {
  const nanos = schedstatNanos(pid);
  return { statMicros: (statTicks(pid) * 1_000_000) / ticks, schedstatMicros: nanos === undefined ? undefined : nanos / 1000 };
}

/** A connection of its own for INFO: the observer's commands are the only ones it adds (INFO, not counted). */
export function redisObserver(url: string): Redis {
  const observer = new Redis(url, { maxRetriesPerRequest: 1 });
  observer.on('error', () => undefined);
  return observer;
}

/** CPU from /proc (read first), then INFO stats, commandstats and cpu in one round trip. */
export async function readCounters(observer: Redis, reading: RedisCpuReading): Promise<RedisCounters> {
  const info = parseInfo(String(await observer.call('INFO', 'stats', 'commandstats', 'cpu')));
  return { cpuMicros: reading.schedstatMicros ?? reading.statMicros, statCpuMicros: reading.statMicros, ...info };
}

export async function flushRedis(url: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

const scriptCommands = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

function parseInfo(text: string): RedisInfoCounters {
  const counters = { commands: 0, scriptCalls: 0, scriptMicros: 0, socketReads: 0, socketWrites: 0, infoCpuMicros: 0 };
  for (const line of text.split('\r\n')) {
    const command = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (command) {
      const [, name, calls, micros] = command;
      if (name === 'info') continue; // the observer's own
      counters.commands += Number(calls);
      if (scriptCommands.has(name!)) {
        counters.scriptCalls += Number(calls);
        counters.scriptMicros += Number(micros);
      }
    } else if (line.startsWith('total_reads_processed:')) counters.socketReads = Number(line.split(':')[1]);
    else if (line.startsWith('total_writes_processed:')) counters.socketWrites = Number(line.split(':')[1]);
    else if (/^used_cpu_(sys|user):/.test(line)) counters.infoCpuMicros += Math.round(Number(line.split(':')[1]) * 1_000_000);
  }
  return counters;
}

async function waitForPing(url: string, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(exited() ? `redis-server exited at start (is it installed? Debian: apt-get install redis-server)` : `redis at ${url} did not answer within ${timeoutMs} ms`);
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const child = trackChild(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', () => (exited = true)); // ENOENT: not installed
  await waitForPing(url, () => exited, 10_000);
  const pid = child.pid!;
  const ticks = clockTicksPerSecond();
  const cpu = () => processCpu(pid, ticks);
  const observer = redisObserver(url);
  return {
    url,
    pid,
    clockTicksPerSecond: ticks,
    cpu,
    counters: () => readCounters(observer, cpu()),
    flush: () => flushRedis(url),
    async stop() {
      observer.disconnect();
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([gone.then(() => false), sleep(3_000).then(() => true)]);
      if (timedOut) child.kill('SIGKILL');
    },
  };
}
