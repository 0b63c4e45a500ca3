/** Starts child-server.ts (compiled) in its own Node process and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { compiledChildServer } from '../../support/compiled-paths.js';
import { childConfigVariable, type ChildConfig, type ChildReply, type ChildRequest, type MemorySample, type TransportCountersReply } from './child-protocol.js';

type Reply = Extract<ChildReply, { type: 'reply' }>;
type WithoutId<T> = T extends unknown ? Omit<T, 'requestId'> : never;
type BroadcastRequest = Extract<ChildRequest, { type: 'broadcast' }>;
export type BroadcastOptions = Pick<BroadcastRequest, 'roomId' | 'count' | 'payloadBytes'> & Partial<Pick<BroadcastRequest, 'perBatch' | 'checkpointEvery' | 'firstIndex'>>;

export interface ServerProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  token(userId: string, role?: 'user' | 'admin' | 'service'): Promise<string>;
  broadcast(options: BroadcastOptions): Promise<{ published: number; lastEventId: string }>;
  /** Publishes a notification.new to `userId` inside the server. */
  notify(userId: string, title: string): Promise<string>;
  memory(): Promise<MemorySample>;
  counters(): Promise<TransportCountersReply>;
  stop(): Promise<void>;
}

export async function startServerProcess(config: ChildConfig = {}, timeoutMs = 40_000): Promise<ServerProcess> {
  // Compiled by the global setup, as `npm start` runs the server: tsx's transform would add its
  // own per-closure overhead to every memory figure.
  const child = fork(compiledChildServer, {
    execArgv: ['--expose-gc'],
    // As deployed: NODE_ENV=production (tRPC then formats no stack traces for error answers).
    env: { ...process.env, NODE_ENV: 'production', [childConfigVariable]: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (reply: Reply) => void>();
  let nextRequestId = 1;
  const ready = new Promise<Extract<ChildReply, { type: 'ready' }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server process did not start')), timeoutMs);
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    child.on('message', (message: ChildReply) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      } else {
        waiting.get(message.requestId)?.(message);
        waiting.delete(message.requestId);
      }
    });
  });
  const { url, wsUrl } = await ready;

  const request = <T extends Reply>(message: WithoutId<ChildRequest>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const requestId = nextRequestId++;
      const timer = setTimeout(() => reject(new Error(`no reply to ${message.type}`)), timeoutMs);
      waiting.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply as T);
      });
      child.send({ ...message, requestId } as ChildRequest);
    });

  return {
    url,
    wsUrl,
    child,
    token: async (userId, role = 'user') => (await request<Reply & { token: string }>({ type: 'sign', userId, role })).token,
    broadcast: (options) => request<Reply & { published: number; lastEventId: string }>({ type: 'broadcast', checkpointEvery: 0, perBatch: 100, firstIndex: 0, ...options }),
    notify: async (userId, title) => (await request<Reply & { eventId: string }>({ type: 'notify', userId, title })).eventId,
    memory: () => request<Reply & MemorySample>({ type: 'memory' }),
    counters: () => request<Reply & TransportCountersReply>({ type: 'counters' }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
