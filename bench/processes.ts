/**
 * Child processes of the benchmark: one per server under test, one per load generator. Every
 * child is tracked and killed (by its own pid) when the orchestrator exits, fails or is
 * interrupted, so no server is left holding a port or a core.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ChildChannel } from './ipc.js';
import type { LoadOperations, ServerKind, ServerOperations, TargetInfo } from './contracts.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
/** bench/tsconfig.build.json's outDir: the children run from tsc's output, as `npm start` does. */
const buildDirectory = `${projectRoot}bench-output/build/bench/`;
const children = new Set<ChildProcess>();

const serverEntry: Record<ServerKind, string> = {
  trpc: 'servers/trpc-server.js',
  ws: 'servers/raw-ws-server.js',
  socketio: 'servers/socketio-server.js',
  'socketio-jwt': 'servers/socketio-server.js',
};

const serverEnvironment: Partial<Record<ServerKind, Record<string, string>>> = { 'socketio-jwt': { BENCH_SOCKETIO_JWT: '1' } };

let compiled = false;

/**
 * Compiles the bench and what it imports (the server among it) once per run. The children run
 * that output with plain node: under tsx, every named closure our code creates carries an extra
 * property array (esbuild's keepNames), which the production build does not have and the
 * comparison servers' libraries (plain JavaScript) never had.
 */
function compileChildren(): void {
  if (compiled) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'bench/tsconfig.build.json'], { cwd: projectRoot, stdio: 'inherit' });
  compiled = true;
}

/** Tracks a child so that `killAllChildren` kills it on exit, error or Ctrl-C. */
export function trackChild<Child extends ChildProcess>(child: Child): Child {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function start(entry: string, nodeFlags: string[], environment: Record<string, string> = {}): ChildProcess {
  compileChildren();
  const child = fork(`${buildDirectory}${entry}`, [], {
    cwd: projectRoot,
    execArgv: nodeFlags,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...environment },
  });
  return trackChild(child);
}

export type ServerChannel = ChildChannel<ServerOperations, TargetInfo>;
export type LoadChannel = ChildChannel<LoadOperations, { pid: number }>;

export interface ServerLaunch {
  /** Write V8 CPU profiles of the whole server process (one per thread) into this directory at exit. */
  cpuProfileDirectory?: string;
  /** Extra environment for the server process (e.g. `REDIS_URL`, `REDIS_PREFIX` for our server). */
  environment?: Record<string, string>;
}

export function startServer(kind: ServerKind, launch: ServerLaunch = {}): ServerChannel {
  const flags = ['--expose-gc'];
  if (launch.cpuProfileDirectory) flags.push('--cpu-prof', `--cpu-prof-dir=${launch.cpuProfileDirectory}`);
  return new ChildChannel(start(serverEntry[kind], flags, { ...serverEnvironment[kind], ...launch.environment }), `${kind} server`, 30_000);
}

/** Any other child of the benchmark (a compiled entry under bench/), tracked like the rest. */
export function startChild(entry: string, environment: Record<string, string> = {}): ChildProcess {
  return start(entry, [], environment);
}

export function startLoadGenerator(index: number): LoadChannel {
  return new ChildChannel(start('loadgen/load-generator.js', []), `load generator ${index}`, 30_000);
}

/** Asks a server to shut down (writing its profile, if any), and kills it past the deadline. */
export async function stopServer(server: ServerChannel, timeoutMs = 10_000): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await server.request('shutdown', {}, timeoutMs).catch(() => undefined);
  const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), timeoutMs))]);
  if (killed) child.kill('SIGKILL');
}

export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** The soft limit on open files of this process (children inherit it); one per socket. */
export function openFileLimit(): number | undefined {
  try {
    const match = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
