/**
 * Typed request/response over a child process's IPC channel, so the orchestrator can ask a
 * server for its CPU and memory, and a load generator to connect, publish and collect, with a
 * timeout on every request (a stuck child must never hang the run).
 */
import type { ChildProcess } from 'node:child_process';

/** An operation table: each operation's request body and response body. */
export type OperationTable = Record<string, { request: unknown; response: unknown }>;

type WireMessage =
  | { rpc: 'ready'; body: unknown }
  | { rpc: 'request'; id: number; op: string; body: unknown }
  | { rpc: 'response'; id: number; ok: true; body: unknown }
  | { rpc: 'response'; id: number; ok: false; error: string };

function isWireMessage(value: unknown): value is WireMessage {
  return typeof value === 'object' && value !== null && 'rpc' in value;
}

/** The parent's side: send requests to one child and await its answers. */
export class ChildChannel<Ops extends OperationTable, Ready> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (body: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  readonly ready: Promise<Ready>;

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
    readyTimeoutMs: number,
  ) {
    this.ready = new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label}: not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs);
      child.on('message', (message: unknown) => {
        if (!isWireMessage(message)) return;
        if (message.rpc === 'ready') {
          clearTimeout(timer);
          resolve(message.body as Ready);
        } else if (message.rpc === 'response') {
          const waiting = this.pending.get(message.id);
          if (!waiting) return;
          this.pending.delete(message.id);
          clearTimeout(waiting.timer);
          if (message.ok) waiting.resolve(message.body);
          else waiting.reject(new Error(`${label}: ${message.error}`));
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new Error(`${label}: exited (code ${code}, signal ${signal})`);
        reject(error);
        for (const waiting of this.pending.values()) {
          clearTimeout(waiting.timer);
          waiting.reject(error);
        }
        this.pending.clear();
      });
    });
    // A rejected ready promise nobody awaits yet must not crash the orchestrator.
    this.ready.catch(() => undefined);
  }

  request<K extends keyof Ops & string>(op: K, body: Ops[K]['request'], timeoutMs: number): Promise<Ops[K]['response']> {
    const id = this.nextId++;
    return new Promise<Ops[K]['response']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: ${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (body: unknown) => void, reject, timer });
      if (!this.child.connected) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`${this.label}: IPC channel closed`));
        return;
      }
      this.child.send({ rpc: 'request', id, op, body } satisfies WireMessage);
    });
  }
}

export type Handlers<Ops extends OperationTable> = { [K in keyof Ops]: (body: Ops[K]['request']) => Promise<Ops[K]['response']> };

/**
 * The child's side: answer the parent's requests, announce readiness, and exit when the parent
 * goes away (an orphaned server or load generator would hold ports and CPU).
 */
export function serveParent<Ops extends OperationTable>(handlers: Handlers<Ops>): { announceReady(body: unknown): void } {
  if (!process.send) throw new Error('Must be started by the benchmark orchestrator (no IPC channel)');
  const send = (message: WireMessage) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: unknown) => {
    if (!isWireMessage(message) || message.rpc !== 'request') return;
    const handler = handlers[message.op as keyof Ops];
    if (!handler) {
      send({ rpc: 'response', id: message.id, ok: false, error: `unknown operation ${message.op}` });
      return;
    }
    handler(message.body as never).then(
      (body) => send({ rpc: 'response', id: message.id, ok: true, body }),
      (error: unknown) => send({ rpc: 'response', id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  return { announceReady: (body) => send({ rpc: 'ready', body }) };
}
