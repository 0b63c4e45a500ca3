/**
 * Real server processes: `npm start`'s entry point, compiled (the global setup builds it), each
 * on its own free port; the multi-process tests give them one Redis. SIGKILL is a real SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { compiledMainScript } from './compiled-paths.js';
import { testSecret } from './server.js';

export interface ServerProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** Every line the process printed (pino JSON logs, and whatever else). */
  logs: string[];
  /** The exit code and when (epoch ms) the process exited. */
  exited: Promise<{ code: number | null; at: number }>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Environment variables as the process reads them; NODE_ENV defaults to test, AUTH_SECRET to the
 * tests' secret, DATA_DIR to none (no durable store unless a test asks for one).
 */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [compiledMainScript], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', AUTH_SECRET: testSecret, LOG_LEVEL: 'info', NODE_ENV: 'test', DATA_DIR: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${logs.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'realtime service listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/trpc`,
    child,
    logs,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return (await exited).code;
    },
  };
}
