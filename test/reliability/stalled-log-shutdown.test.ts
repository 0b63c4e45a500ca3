/**
 * Issue 13, item 6: started with its output piped to a reader that stalls (a log collector that
 * stopped reading: the pipe is full) or has gone (EPIPE), the compiled entry point still answers
 * while it logs, and SIGTERM ends it within its deadline. Before, a full pipe blocked pino's
 * synchronous write, so the SIGTERM handler never ran and the process never exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { compiledMainScript } from '../support/compiled-paths.js';
import { testSecret } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { freePort } from '../support/free-port.js';

/** server/main.ts's deadline; the bound asserted adds time for the machine to schedule the exit. */
const shutdownDeadlineMs = 10_000;
const exitBoundMs = shutdownDeadlineMs + 2_000;
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * The server with its stdout into a pipe whose only reader is `sleep`, which never reads. The
 * test holds the pipe's write end too, and fills the pipe through it when asked.
 */
async function serverWritingIntoSleep() {
  const reader = spawn('sleep', ['600'], { stdio: ['pipe', 'ignore', 'ignore'] });
  started.push(reader);
  const pipe = reader.stdin as Writable;
  pipe.on('error', () => {}); // EPIPE once the reader is killed
  const port = await freePort();
  const server = spawn(process.execPath, [compiledMainScript], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), AUTH_SECRET: testSecret, LOG_LEVEL: 'info', NODE_ENV: 'production', DATA_DIR: 'none' },
    stdio: ['ignore', pipe, 'pipe'],
  });
  started.push(server);
  const stderr: string[] = [];
  createInterface({ input: server.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    server.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200, 'server answering', 30_000);
  return {
    url,
    server,
    reader,
    exited,
    stderr,
    /** Fills the pipe: the kernel takes what fits (64 KiB here), the rest waits in this process. */
    fill: () => pipe.write(Buffer.alloc(1024 * 1024, 'x')),
  };
}

async function terminate(process: { server: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> }) {
  const signalledAt = Date.now();
  process.server.kill('SIGTERM');
  const timeout = sleep(exitBoundMs + 5_000, undefined, { ref: false });
  const exit = await Promise.race([process.exited, timeout]);
  return exit && { ...exit, exitMs: exit.at - signalledAt };
}

describe('shutdown whatever the log reader does', () => {
  it('a stalled reader (full pipe): the server keeps answering, and SIGTERM ends it within the deadline', async () => {
    const running = await serverWritingIntoSleep();
    running.fill();
    // The event loop is free while the pipe is full: each request is answered.
    let answered = 0;
    for (let index = 0; index < 20; index++) if ((await fetch(`${running.url}/healthz`)).status === 200) answered++;
    const exit = await terminate(running);
    console.log(`[reliability] stalled log pipe: ${answered}/20 requests answered while full; exit ${exit?.code} ${exit?.exitMs} ms after SIGTERM (bound ${exitBoundMs} ms)`);
    expect(answered).toBe(20);
    expect(exit).toBeDefined();
    expect(exit!.exitMs).toBeLessThan(exitBoundMs);
    expect(exit!.code).toBe(0);
  }, 60_000);

  it('a reader that has gone (EPIPE): SIGTERM ends it within the deadline, exit 0', async () => {
    const running = await serverWritingIntoSleep();
    running.reader.kill('SIGKILL');
    await new Promise((resolve) => running.reader.once('exit', resolve));
    for (let index = 0; index < 5; index++) await fetch(`${running.url}/healthz`);
    const exit = await terminate(running);
    console.log(`[reliability] log reader gone (EPIPE): exit ${exit?.code} ${exit?.exitMs} ms after SIGTERM (bound ${exitBoundMs} ms)`);
    expect(exit).toBeDefined();
    expect(exit!.exitMs).toBeLessThan(exitBoundMs);
    expect(exit!.code).toBe(0);
  }, 60_000);
});
