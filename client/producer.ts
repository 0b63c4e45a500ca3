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
import { createTRPCClient, createWSClient, isTRPCClientError, wsLink, type TRPCWebSocketClient } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import superjson from 'superjson';
import type { AppRouter } from '../server/api/router.js';
import { parseEventId } from '../shared/event-id.js';
import type { RealtimeEvent } from '../shared/events.js';
import { withRetry, type PublishRetryOptions, type RetryPolicy } from './publish-retry.js';

export { PublishTimeoutError, type PublishRetryOptions } from './publish-retry.js';

type RouterOutputs = inferRouterOutputs<AppRouter>;
/** A governance action as the service records it (status, approvers, decider, reason, expiry). */
export type GovernanceActionView = RouterOutputs['governance']['get'];
/** An agent run's current state (status, progress, step, result or error). */
export type AgentRunView = RouterOutputs['agents']['get'];

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

/**
 * Idempotency for one publish. Give a key that is stable across restarts of your worker (a
 * job id and step, say) to have a publish resent after a crash still shown once; by default
 * each call makes its own (random) key, which covers the retries of that call.
 */
export interface PublishOptions {
  /** At most 128 characters; unique per logical publish. @default crypto.randomUUID() */
  idempotencyKey?: string;
}

export interface ApprovalRequestOptions {
  /** What will be done, e.g. `delete_project`. */
  action: string;
  /** Users who may decide; admins always may. */
  approvers: string[];
  /** @default the service's default (5 minutes) */
  expiresInMs?: number;
  description?: string;
  /** JSON the approvers see. */
  details?: unknown;
  agentId?: string;
  /** Aborting withdraws the action and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** `requireApproval` rejects with this when the action was rejected, withdrawn or expired. */
export class ApprovalDeniedError extends Error {
  readonly status: 'rejected' | 'expired';
  constructor(readonly action: GovernanceActionView) {
    const by = action.decidedBy ? ` by ${action.decidedBy}` : '';
    super(`Action ${action.actionId} (${action.action}) was ${action.status}${by}${action.reason ? `: ${action.reason}` : ''}`);
    this.name = 'ApprovalDeniedError';
    this.status = action.status === 'expired' ? 'expired' : 'rejected';
  }
}

export interface AgentRun {
  readonly agentId: string;
  /** The user the run works for. */
  readonly userId: string;
  /** Aborted when the owner or an admin cancels the run; `signal.reason` says by whom. */
  readonly signal: AbortSignal;
  thinking(step?: string, thought?: string, options?: PublishOptions): Promise<void>;
  /** 0–100, never below the last value unless `reset` is set. */
  progress(progress: number, step?: string, options?: { message?: string; reset?: boolean } & PublishOptions): Promise<void>;
  complete(result?: unknown, options?: PublishOptions): Promise<void>;
  /** `retryable` tells the user whether running the agent again may help; it is not about this call. */
  fail(error: string | Error, options?: { code?: string; retryable?: boolean } & PublishOptions): Promise<void>;
  /** `requireApproval` for this run: `agentId` filled in, withdrawn when the run is cancelled. */
  requireApproval(request: Omit<ApprovalRequestOptions, 'agentId'>): Promise<GovernanceActionView>;
}

export interface ProducerClient {
  /** Emits `agent.started` for `userId`'s agent; the run's signal is live before it is sent. */
  startRun(agentId: string, options: { userId: string; task?: string; metadata?: Record<string, unknown> } & PublishOptions): Promise<AgentRun>;
  /** Requests approval and waits: resolves when approved, rejects with ApprovalDeniedError otherwise. */
  requireApproval(request: ApprovalRequestOptions): Promise<GovernanceActionView>;
  /** Sends `notification.new` to the user; with the same `idempotencyKey`, a retry delivers it once. */
  notify(
    userId: string,
    notification: { title: string; message: string; level?: 'info' | 'success' | 'warning' | 'error'; link?: string } & PublishOptions,
  ): Promise<{ notificationId: string }>;
  /** Stops listening, rejects pending approvals, and closes the connection. Run signals are left as they are. */
  close(): Promise<void>;
}

interface LocalRun {
  controller: AbortController;
  /** Id of the run's `agent.started`: older cancellations belong to an earlier run of the agent. */
  startEventId?: string;
}

interface PendingApproval {
  settle(action: GovernanceActionView): void;
  fail(error: unknown): void;
}

type Watch = { ready: Promise<void>; readonly failed: boolean; stop(): void };

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
  const runs = new Map<string, LocalRun>();
  const approvals = new Map<string, PendingApproval>();
  let agentWatch: Watch | undefined;
  let governanceWatch: Watch | undefined;
  let closed = false;
  const retryPolicy: RetryPolicy = {
    retry: options.retry ?? {},
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    stopped: () => closed,
    connected: (timeoutMs) => connected(wsClient, timeoutMs),
  };
  /** Sends one logical publish, retried under its one key; `send` gets the attempt's timeout signal. */
  const publish = <T>(send: (signal: AbortSignal) => Promise<T>) => withRetry(send, retryPolicy);
  const newKey = (): string => globalThis.crypto.randomUUID();

  const describeCancel = (data: { agentId: string; cancelledBy?: string; reason?: string }) =>
    `Agent ${data.agentId} was cancelled by ${data.cancelledBy ?? 'someone'}${data.reason ? `: ${data.reason}` : ''}`;

  const cancelLocally = (agentId: string, reason: string) => {
    runs.get(agentId)?.controller.abort(new Error(reason));
    runs.delete(agentId);
  };

  /** Re-reads every live run: a cancellation may have happened while the stream was away. */
  const recheckRuns = () => {
    for (const agentId of runs.keys()) {
      api.agents.get
        .query({ agentId })
        .then((state) => {
          if (state.status === 'cancelled') {
            cancelLocally(agentId, describeCancel({ agentId, ...(state.cancelledBy !== undefined && { cancelledBy: state.cancelledBy }), ...(state.cancelReason !== undefined && { reason: state.cancelReason }) }));
          }
        })
        .catch((error: unknown) => reportError(error, `re-checking agent ${agentId}`));
    }
  };

  /** Settles a waiting approval from the recorded action, once it is no longer pending. */
  const recheckApproval = (actionId: string) => {
    if (!approvals.has(actionId)) return;
    api.governance.get
      .query({ actionId })
      .then((action) => {
        if (action.status !== 'pending') approvals.get(actionId)?.settle(action);
      })
      .catch((error: unknown) => reportError(error, `re-checking action ${actionId}`));
  };
  const recheckApprovals = () => {
    for (const actionId of approvals.keys()) recheckApproval(actionId);
  };

  // Opened on first need; one the server refused (onError) is opened again on the next.
  const watchAgents = () => {
    if (!agentWatch || agentWatch.failed) {
      agentWatch = watch(
        (handlers) => api.onAgent.subscribe(undefined, handlers),
        (event) => {
          if (event.type === 'stream.gap') return recheckRuns();
          if (event.type !== 'agent.cancelled') return;
          const run = runs.get(event.data.agentId);
          if (run && isAfter(event.id, run.startEventId)) cancelLocally(event.data.agentId, describeCancel(event.data));
        },
        recheckRuns,
        reportError,
      );
    }
    return agentWatch.ready;
  };

  const watchGovernance = () => {
    if (!governanceWatch || governanceWatch.failed) {
      governanceWatch = watch(
        (handlers) => api.onGovernance.subscribe(undefined, handlers),
        (event) => {
          if (event.type === 'stream.gap') return recheckApprovals();
          if (event.type === 'governance.approved' || event.type === 'governance.rejected' || event.type === 'governance.expired') {
            recheckApproval(event.data.actionId);
          }
        },
        recheckApprovals,
        reportError,
      );
    }
    return governanceWatch.ready;
  };

  /** Emits one agent event; if it failed because the run was cancelled meanwhile, the signal aborts too. */
  const emit = async (
    agentId: string,
    userId: string,
    type: RealtimeEvent['type'] & `agent.${string}`,
    data: Record<string, unknown>,
    idempotencyKey = newKey(),
  ) => {
    try {
      return await publish((signal) => api.agents.emit.mutate({ agentId, userId, type, data, idempotencyKey }, { signal }));
    } catch (error) {
      if (runs.has(agentId) && errorCode(error) === 'PRECONDITION_FAILED') recheckRuns();
      throw error;
    }
  };

  const requireApproval = async (request: ApprovalRequestOptions): Promise<GovernanceActionView> => {
    const { signal, details, ...input } = request;
    signal?.throwIfAborted();
    if (closed) throw new Error('The producer client is closed');
    await watchGovernance();
    const actionId = globalThis.crypto.randomUUID();
    let safetyCheck: ReturnType<typeof setTimeout> | undefined;
    let requested = false;
    // Nobody waits any more: the action is taken back so approvers stop seeing it.
    const withdrawKey = newKey();
    const withdraw = () =>
      publish((signal) => api.governance.withdraw.mutate({ actionId, reason: 'the requester stopped waiting', idempotencyKey: withdrawKey }, { signal })).catch(
        (error: unknown) => {
          if (errorCode(error) !== 'CONFLICT') reportError(error, `withdrawing ${actionId}`);
        },
      );
    const onAbort = () => {
      approvals.get(actionId)?.fail(signal?.reason);
      if (requested) void withdraw();
    };
    // Registered before the request is sent, so a decision that arrives first still settles it.
    const decided = new Promise<GovernanceActionView>((resolve, reject) => {
      const done = () => {
        approvals.delete(actionId);
        clearTimeout(safetyCheck);
        signal?.removeEventListener('abort', onAbort);
      };
      approvals.set(actionId, {
        settle: (action) => {
          done();
          if (action.status === 'approved') resolve(action);
          else reject(new ApprovalDeniedError(action));
        },
        fail: (error) => {
          done();
          reject(error);
        },
      });
    });
    decided.catch(() => {}); // Awaited below; this only keeps an early rejection from being reported as unhandled.
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // `details` is checked as JSON by the service; the type stays `unknown` for callers' convenience.
      // The action id is this request's idempotency key as well: one logical request, one id.
      const approvalInput = { ...input, actionId, idempotencyKey: actionId, ...(details !== undefined && { details: details as never }) };
      const created = await publish((callSignal) => api.governance.request.mutate(approvalInput, { signal: callSignal }));
      requested = true;
      if (signal?.aborted) void withdraw();
      else {
        // A decision that raced the subscription is read back rather than missed.
        recheckApproval(actionId);
        // Should the expiry event be lost (a long disconnect, clocks apart), the recorded state still settles the wait.
        const check = (delayMs: number) => {
          safetyCheck = setTimeout(() => {
            recheckApproval(actionId);
            if (approvals.has(actionId)) check(5_000);
          }, delayMs);
        };
        if (approvals.has(actionId)) check(Math.max(0, created.expiresAt.getTime() - Date.now() + 1_000));
      }
    } catch (error) {
      approvals.get(actionId)?.fail(error);
    }
    return decided;
  };

  return {
    async startRun(agentId, { userId, task, metadata, idempotencyKey }) {
      if (closed) throw new Error('The producer client is closed');
      await watchAgents();
      const run: LocalRun = { controller: new AbortController() };
      runs.set(agentId, run);
      try {
        const data = { ...(task !== undefined && { task }), ...(metadata && { metadata }) };
        const { eventId } = await emit(agentId, userId, 'agent.started', data, idempotencyKey);
        run.startEventId = eventId;
      } catch (error) {
        if (runs.get(agentId) === run) runs.delete(agentId);
        throw error;
      }
      const finish = () => {
        if (runs.get(agentId) === run) runs.delete(agentId);
      };
      return {
        agentId,
        userId,
        signal: run.controller.signal,
        thinking: async (step, thought, { idempotencyKey } = {}) => {
          const data = { ...(step !== undefined && { step }), ...(thought !== undefined && { thought }) };
          await emit(agentId, userId, 'agent.thinking', data, idempotencyKey);
        },
        progress: async (progress, step, { idempotencyKey, ...extra } = {}) => {
          await emit(agentId, userId, 'agent.progress', { progress, ...(step !== undefined && { step }), ...extra }, idempotencyKey);
        },
        complete: async (result, { idempotencyKey } = {}) => {
          await emit(agentId, userId, 'agent.complete', result === undefined ? {} : { result }, idempotencyKey);
          finish();
        },
        fail: async (error, { idempotencyKey, ...extra } = {}) => {
          await emit(agentId, userId, 'agent.error', { error: error instanceof Error ? error.message : error, ...extra }, idempotencyKey);
          finish();
        },
        requireApproval: (request) =>
          requireApproval({
            ...request,
            agentId,
            signal: request.signal ? AbortSignal.any([request.signal, run.controller.signal]) : run.controller.signal,
          }),
      };
    },
    requireApproval,
    async notify(userId, { idempotencyKey = newKey(), ...notification }) {
      const input = { userId, ...notification, idempotencyKey };
      const { notificationId } = await publish((signal) => api.notifications.notify.mutate(input, { signal }));
      return { notificationId };
    },
    async close() {
      if (closed) return;
      closed = true;
      agentWatch?.stop();
      governanceWatch?.stop();
      for (const pending of [...approvals.values()]) pending.fail(new Error('The producer client was closed while waiting for approval'));
      await wsClient.close();
    },
  };
}

type Handlers = {
  onStarted: () => void;
  onData: (value: { id: string; data: RealtimeEvent }) => void;
  onError: (error: unknown) => void;
};

/**
 * One long-lived subscription. `ready` resolves when the server has it (the 'started' reply
 * comes after the subscriber is indexed, so nothing published later is missed); every later
 * start is a reconnect, after which `onRestart` re-reads what the stream may have missed.
 */
function watch(
  subscribe: (handlers: Handlers) => { unsubscribe(): void },
  onEvent: (event: RealtimeEvent) => void,
  onRestart: () => void,
  reportError: (error: unknown, context: string) => void,
): Watch {
  let starts = 0;
  let failed = false;
  let subscription: { unsubscribe(): void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    subscription = subscribe({
      onStarted: () => {
        if (starts++ === 0) resolve();
        else onRestart();
      },
      onData: (value) => onEvent(value.data),
      onError: (error) => {
        failed = true;
        reject(error);
        reportError(error, 'subscription failed');
      },
    });
  });
  ready.catch(() => {}); // The caller that awaits `ready` sees the failure; nobody else needs to.
  return {
    ready,
    get failed() {
      return failed;
    },
    stop: () => subscription?.unsubscribe(),
  };
}

/**
 * Resolves true once `client` is connected, false after `timeoutMs` or when it is closed. tRPC
 * reconnects by itself after a delay; a call made before that opens a socket of its own, which
 * the reconnect then closes under it, so a retry waits for the reconnect instead.
 */
function connected(client: TRPCWebSocketClient, timeoutMs: number): Promise<boolean> {
  if (client.connectionState.get().state === 'pending') return Promise.resolve(true);
  return new Promise((resolve) => {
    let settled = false;
    let subscription: { unsubscribe(): void } | undefined;
    const settle = (isConnected: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      subscription?.unsubscribe();
      resolve(isConnected);
    };
    const timer = setTimeout(() => settle(false), Math.max(0, timeoutMs));
    subscription = client.connectionState.subscribe({
      next: (state) => {
        if (state.state === 'pending') settle(true);
        else if (state.state === 'idle') settle(false);
      },
    });
    if (settled) subscription.unsubscribe();
  });
}

function webSocketUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/trpc';
  return parsed.toString();
}

function errorCode(error: unknown): string | undefined {
  return isTRPCClientError(error) ? (error.data as { code?: string } | undefined)?.code : undefined;
}

/** Whether event `id` comes after `than` (unknown order counts as after, to never miss a cancel). */
function isAfter(id: string, than: string | undefined): boolean {
  const next = parseEventId(id);
  const previous = than === undefined ? null : parseEventId(than);
  if (!next || !previous || next.epoch !== previous.epoch) return true;
  return next.sequence > previous.sequence;
}
