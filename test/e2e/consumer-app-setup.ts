/**
 * Makes what a user has after `npm install agent-realtime` into a fresh Vite react-ts app: builds
 * the package (tsc into dist/, as `npm run build` does after the dashboard), packs it with
 * `npm pack`, copies the app in consumer-app/ (the template's files, its stock tsconfig plus
 * skipLibCheck, its own event and server) into a temporary directory and installs the tarball
 * and the app's dependencies from the npm registry (the local npm cache first).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { projectRoot } from './dashboard-build.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Bounds every step; install is the slow one on a cold cache. */
const installTimeoutMs = 5 * 60_000;
const stepTimeoutMs = 2 * 60_000;

/** The versions the repository itself is tested with, so that the cache usually has them. */
function pinned(names: readonly string[]): Record<string, string> {
  const own = createRequire(import.meta.url)(join(projectRoot, 'package.json')) as { devDependencies: Record<string, string>; dependencies: Record<string, string> };
  return Object.fromEntries(names.map((name) => [name, own.devDependencies[name] ?? own.dependencies[name]!]));
}

export interface ConsumerApp {
  directory: string;
  tarball: string;
  /** Runs `node <args>` in the app; rejects with its output when it exits non-zero. */
  node(args: readonly string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  /** Removes the app and the tarball. */
  remove(): Promise<void>;
  /** Starts `node <args>` in the app and resolves once a stdout line matches `ready`; the caller kills it. */
  start(args: readonly string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; line: string }>;
}

export async function createConsumerApp(): Promise<ConsumerApp> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: projectRoot, timeout: stepTimeoutMs });
  const work = await mkdtemp(join(tmpdir(), 'agent-realtime-consumer-'));
  await run(npm, ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: projectRoot, timeout: stepTimeoutMs });
  const tarball = join(work, (await readdir(work)).find((name) => name.endsWith('.tgz'))!);

  const directory = join(work, 'app');
  await cp(fileURLToPath(new URL('consumer-app', import.meta.url)), directory, { recursive: true });
  const manifest = {
    name: 'chat-app',
    private: true,
    version: '0.0.0',
    type: 'module',
    dependencies: {
      'agent-realtime': `file:${tarball}`,
      ...pinned(['@tanstack/react-query', '@trpc/client', '@trpc/react-query', '@trpc/server', 'react', 'react-dom', 'ws', 'zod']),
    },
    devDependencies: pinned(['@types/node', '@types/react', '@types/react-dom', '@vitejs/plugin-react', 'typescript', 'vite']),
  };
  await writeFile(join(directory, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: directory, timeout: installTimeoutMs });

  return {
    directory,
    tarball,
    remove: () => rm(work, { recursive: true, force: true }),
    node: (args, env = {}) =>
      run(process.execPath, [...args], { cwd: directory, timeout: stepTimeoutMs, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }),
    start(args, env, ready) {
      const child = spawn(process.execPath, [...args], { cwd: directory, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      return new Promise((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`not ready within 30 s: ${output}`)), 30_000);
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const line = output.split('\n').find((candidate) => ready.test(candidate));
          if (line === undefined) return;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve({ child, line });
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code} before it was ready: ${output}`));
        });
      });
    },
  };
}
