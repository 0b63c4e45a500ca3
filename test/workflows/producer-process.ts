/**
 * Spawns the producer worker fixture in its own process (`npx tsx`) and talks to it over
 * stdin/stdout: `call` sends one command and resolves with its answer; `next` waits for an
 * unprompted event. Every wait is bounded; `stop` ends the process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export interface Answer {
  ok: boolean;
  value?: unknown;
  name?: string;
  code?: string;
  status?: string;
  message?: string;
  action?: Record<string, unknown>;
}

export interface WorkerEvent {
  event: string;
  [key: string]: unknown;
}

export interface ProducerProcess {
  /** Sends a command; resolves with the worker's answer (which may be a failure: check `ok`). */
  call(op: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<Answer>;
  /** Waits for an unprompted event that matches, including ones that already arrived. */
  next(match: (event: WorkerEvent) => boolean, timeoutMs?: number): Promise<WorkerEvent>;
  readonly events: WorkerEvent[];
  stop(): Promise<void>;
}

const fixture = fileURLToPath(new URL('./fixtures/producer-worker.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

export async function startProducerProcess(url: string, token: string): Promise<ProducerProcess> {
  const child: ChildProcess = spawn('npx', ['tsx', fixture], {
    cwd: repositoryRoot,
    env: { ...process.env, PRODUCER_URL: url, PRODUCER_TOKEN: token },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so npx and the node it starts can be ended together.
    detached: true,
  });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const answers = new Map<number, (answer: Answer) => void>();
  const events: WorkerEvent[] = [];
  const eventWaiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: { id?: number; event?: string } & Answer;
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return; // Not one of ours (npx notices).
    }
    if (typeof message.id === 'number') {
      answers.get(message.id)?.(message);
      answers.delete(message.id);
    } else if (typeof message.event === 'string') {
      events.push(message as unknown as WorkerEvent);
      for (const wake of [...eventWaiters]) wake();
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const withTimeout = <T>(promise: Promise<T>, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}; worker stderr: ${stderr}`)), timeoutMs);
      promise.then(resolve, reject).finally(() => clearTimeout(timer));
    });

  const next = (match: (event: WorkerEvent) => boolean, timeoutMs = 5_000) =>
    withTimeout(
      new Promise<WorkerEvent>((resolve) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          eventWaiters.delete(check);
          resolve(found);
        };
        eventWaiters.add(check);
        check();
      }),
      timeoutMs,
      'a worker event',
    );

  let nextId = 1;
  const worker: ProducerProcess = {
    events,
    next,
    call(op, args = {}, timeoutMs = 5_000) {
      const id = nextId++;
      const answer = new Promise<Answer>((resolve) => answers.set(id, resolve));
      child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
      return withTimeout(answer, timeoutMs, `the answer to ${op}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin!.end();
        const timer = setTimeout(kill, 3_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  // tsx compiles on start; a cold start on two cores takes a few seconds.
  await next((event) => event.event === 'ready', 20_000).catch((error: unknown) => {
    kill();
    throw error;
  });
  return worker;
}
