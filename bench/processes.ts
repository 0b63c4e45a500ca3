/**
 * Child processes of the benchmark: one per server under test, one per load generator. Every
 * child is tracked and killed (by its own pid) when the orchestrator exits, fails or is
 * interrupted, so no server is left holding a port or a core.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChildChannel } from './ipc.js';
import type { LoadOperations, ServerKind, ServerOperations, TargetInfo } from './contracts.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDirectory = fileURLToPath(new URL('.', import.meta.url));
const children = new Set<ChildProcess>();

const serverEntry: Record<ServerKind, string> = {
  trpc: 'servers/trpc-server.ts',
  ws: 'servers/raw-ws-server.ts',
  socketio: 'servers/socketio-server.ts',
};

/** Tracks a child so that `killAllChildren` kills it on exit, error or Ctrl-C. */
export function trackChild<Child extends ChildProcess>(child: Child): Child {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function start(entry: string, nodeFlags: string[], environment: Record<string, string> = {}): ChildProcess {
  const child = fork(`${benchDirectory}${entry}`, [], {
    cwd: projectRoot,
    // tsx as an ESM loader, so children are plain `node` processes that take node flags.
    execArgv: ['--import', 'tsx', ...nodeFlags],
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
  return new ChildChannel(start(serverEntry[kind], flags, launch.environment), `${kind} server`, 30_000);
}

export function startLoadGenerator(index: number): LoadChannel {
  return new ChildChannel(start('loadgen/load-generator.ts', []), `load generator ${index}`, 30_000);
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
