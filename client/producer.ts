/**
 * The producer client: how an agent worker in another process drives runs, asks for approval
 * and notifies users, over the same tRPC API and with the same checks as in-process code. It
 * needs a token with role `service` (or `admin`).
 *
 * One WebSocket carries everything. Two subscriptions, opened on first need, let the worker
 * hear what users decide: `onAgent` (a service sees every agent) turns `agent.cancelled` into
 * the run's AbortSignal, and `onGovernance` settles `requireApproval`. Both resume after a
 * reconnect, and every reconnect or gap re-reads the state of what is still awaited, so a
 * decision is never missed.
 *
 * Every publish (each run step, approval request, withdrawal and notification) carries an
 * idempotency key, one per logical publish, and is retried with that same key when it failed
 * for a passing reason (no answer in time, connection lost, SERVICE_UNAVAILABLE, a rate limit):
 * the service shows it once however many attempts reached it. See `retry` and `callTimeoutMs`.
 *
 * @example
 * const producer = createProducerClient({ url: 'http://127.0.0.1:3000', token, WebSocket });
 * const run = await producer.startRun('agent-7', { userId: 'alice', task: 'Clean up old projects' });
 * await run.progress(30, 'listing projects');
 * await run.requireApproval({ action: 'delete_project', approvers: ['alice'], expiresInMs: 60_000 });
 * await run.complete({ deleted: 3 });
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../server/api/router.js';
import type { EventDataInput, PublishableEventType } from '../shared/events.js';
import { publication } from './publishing.js';
import { createApprovals, type ApprovalRequestOptions, type GovernanceActionView } from './producer-approvals.js';
import { connected, webSocketUrl, type ProducerContext, type PublishOptions } from './producer-connection.js';
import { createRuns, type AgentRun, type StartRunOptions } from './producer-run.js';
import { withRetry, type PublishRetryOptions, type RetryPolicy } from './publish-retry.js';

export { PublishTimeoutError, type PublishRetryOptions } from './publish-retry.js';
export { ApprovalDeniedError, type ApprovalRequestOptions, type GovernanceActionView } from './producer-approvals.js';
export type { PublishOptions } from './producer-connection.js';
export type { AgentRun, AgentRunView } from './producer-run.js';

/** Any WebSocket class: the browser's, Node 22's global, or `ws` for Node 20. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

export interface ProducerClientOptions {
  /** The service: `http://host:port` or its WebSocket endpoint `ws://host:port/trpc`. */
  url: string;
  /** A token with role `service`; a function is called on every (re)connect, so tokens can rotate. */
  token: string | (() => string | Promise<string>);
  /** For runtimes without a global WebSocket (Node 20: `import WebSocket from 'ws'`). @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** Delay before reconnect attempt `attempt` (0-based). @default doubling from 100 ms up to 5 s */
  retryDelayMs?: (attempt: number) => number;
  /** Failures no caller awaits (a subscription error, a background re-check). @default console.error */
  onError?: (error: unknown, context: string) => void;
  /**
   * How a publish that failed for a passing reason is retried, always under its idempotency
   * key; `false` sends each publish once and leaves retrying to the caller.
   * @default { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000, maxElapsedMs: 60000 }
   */
  retry?: PublishRetryOptions | false;
  /**
   * How long one attempt of a publish may wait for its answer; past it the attempt counts as
   * lost and is retried (the key makes that safe if it did go through). `0`: no limit.
   * @default 10000
   */
  callTimeoutMs?: number;
}

export interface ProducerClient {
  /** Emits `agent.started` for `userId`'s agent; the run's signal is live before it is sent. */
  startRun(agentId: string, options: StartRunOptions): Promise<AgentRun>;
  /** Requests approval and waits: resolves when approved, rejects with ApprovalDeniedError otherwise. */
  requireApproval(request: ApprovalRequestOptions): Promise<GovernanceActionView>;
  /** Sends `notification.new` to the user; with the same `idempotencyKey`, a retry delivers it once. */
  notify(
    userId: string,
    notification: { title: string; message: string; level?: 'info' | 'success' | 'warning' | 'error'; link?: string } & PublishOptions,
  ): Promise<{ notificationId: string }>;
  /**
   * Sends any publishable event, built-in or the app's own (`data` typed by `type`), to one user
   * (`events.send`); retried under one idempotency key like every publish.
   */
  sendToUser<T extends PublishableEventType>(userId: string, type: T, data: EventDataInput<T>, options?: PublishOptions): Promise<{ eventId: string }>;
  /** Broadcasts any publishable event to a room, or without `roomId` to every connected user (`events.broadcast`). */
  broadcast<T extends PublishableEventType>(
    type: T,
    data: EventDataInput<T>,
    options?: { roomId?: string } & PublishOptions,
  ): Promise<{ eventId: string }>;
  /** Stops listening, rejects pending approvals, and closes the connection. Run signals are left as they are. */
  close(): Promise<void>;
}


export function createProducerClient(options: ProducerClientOptions): ProducerClient {
  const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketClass) throw new TypeError('No global WebSocket here: pass `WebSocket` (from the `ws` package on Node 20)');
  const reportError = options.onError ?? ((error, context) => console.error(`[producer] ${context}`, error));
  const wsClient = createWSClient({
    url: webSocketUrl(options.url),
    WebSocket: WebSocketClass as typeof WebSocket,
    retryDelayMs: options.retryDelayMs ?? ((attempt) => Math.min(100 * 2 ** attempt, 5_000)),
    connectionParams: async () => ({ token: typeof options.token === 'string' ? options.token : await options.token() }),
  });
  const api = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  let closed = false;
  const retryPolicy: RetryPolicy = {
    retry: options.retry ?? {},
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    stopped: () => closed,
    connected: (timeoutMs) => connected(wsClient, timeoutMs),
  };
  const context: ProducerContext = {
    api,
    publish: (send) => withRetry(send, retryPolicy),
    newKey: () => globalThis.crypto.randomUUID(),
    reportError,
    isClosed: () => closed,
  };
  const approvals = createApprovals(context);
  const runs = createRuns(context, approvals.requireApproval);

  return {
    startRun: runs.startRun,
    requireApproval: approvals.requireApproval,
    async notify(userId, { idempotencyKey = context.newKey(), ...notification }) {
      const input = { userId, ...notification, idempotencyKey };
      const { notificationId } = await context.publish((signal) => api.notifications.notify.mutate(input, { signal }));
      return { notificationId };
    },
    async sendToUser(userId, type, data, { idempotencyKey = context.newKey() } = {}) {
      const input = { userId, ...publication(type, data), idempotencyKey };
      const { eventId } = await context.publish((signal) => api.events.send.mutate(input, { signal }));
      return { eventId };
    },
    async broadcast(type, data, { roomId, idempotencyKey = context.newKey() } = {}) {
      const input = { ...publication(type, data), ...(roomId !== undefined && { roomId }), idempotencyKey };
      const { eventId } = await context.publish((signal) => api.events.broadcast.mutate(input, { signal }));
      return { eventId };
    },
    async close() {
      if (closed) return;
      closed = true;
      runs.stop();
      approvals.close();
      await wsClient.close();
    },
  };
}
