/**
 * The run handle of the producer client: `startRun` emits `agent.started` and returns an
 * AgentRun whose steps are agent events, each under its own idempotency key, and whose signal
 * aborts when the owner or an admin cancels the run. Cancellations are heard on `onAgent` (a
 * service sees every agent; opened on first need); after a reconnect, a gap, or an emit the
 * service refused because the run was over, every live run's state is read back, so a
 * cancellation is never missed.
 */
import type { RealtimeEvent } from '../shared/events.js';
import { parseEventId } from '../shared/event-id.js';
import type { ApprovalRequestOptions, GovernanceActionView } from './producer-approvals.js';
import { errorCode, watch, type ProducerContext, type PublishOptions, type Watch } from './producer-connection.js';
import type { RouterOutputs } from './router-types.js';

/** An agent run's current state (status, progress, step, result or error). */
export type AgentRunView = RouterOutputs['agents']['get'];

export interface AgentRun {
  readonly agentId: string;
  /** The user the run works for. */
  readonly userId: string;
  /** Aborted when the owner or an admin cancels the run; `signal.reason` says by whom. */
  readonly signal: AbortSignal;
  thinking(step?: string, thought?: string, options?: PublishOptions): Promise<void>;
  /** 0–100, never below the last value unless `reset` is set. */
  progress(progress: number, step?: string, options?: { message?: string; reset?: boolean } & PublishOptions): Promise<void>;
  /**
   * Appends `text` to the run's output (`agent.output`). Calls are sent one after another in the
   * order made, each stating its offset, so a retried or reordered delta never doubles the text
   * (the service answers CONFLICT instead). Await each call, or the last one, before `complete`.
   */
  output(text: string, options?: PublishOptions): Promise<void>;
  complete(result?: unknown, options?: PublishOptions): Promise<void>;
  /** `retryable` tells the user whether running the agent again may help; it is not about this call. */
  fail(error: string | Error, options?: { code?: string; retryable?: boolean } & PublishOptions): Promise<void>;
  /** `requireApproval` for this run: `agentId` filled in, withdrawn when the run is cancelled. */
  requireApproval(request: Omit<ApprovalRequestOptions, 'agentId'>): Promise<GovernanceActionView>;
}

/** What `startRun` takes besides the agent id: the user the run works for, and what it is about. */
/** `roomId`: the run belongs to that room; its members see it too. */
export type StartRunOptions = { userId: string; task?: string; metadata?: Record<string, unknown>; roomId?: string } & PublishOptions;

export interface Runs {
  /** Emits `agent.started` for `userId`'s agent; the run's signal is live before it is sent. */
  startRun(agentId: string, options: StartRunOptions): Promise<AgentRun>;
  /** Stops listening for cancellations. Run signals are left as they are. */
  stop(): void;
}

interface LocalRun {
  controller: AbortController;
  /** Id of the run's `agent.started`: older cancellations belong to an earlier run of the agent. */
  startEventId?: string;
}

/** `requireApproval` is the client's own: a run's approvals are waited for like any other. */
export function createRuns(
  { api, publish, newKey, reportError, isClosed }: ProducerContext,
  requireApproval: (request: ApprovalRequestOptions) => Promise<GovernanceActionView>,
): Runs {
  const runs = new Map<string, LocalRun>();
  let agentWatch: Watch | undefined;

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

  return {
    async startRun(agentId, { userId, task, metadata, roomId, idempotencyKey }) {
      if (isClosed()) throw new Error('The producer client is closed');
      await watchAgents();
      const run: LocalRun = { controller: new AbortController() };
      runs.set(agentId, run);
      try {
        const data = { ...(task !== undefined && { task }), ...(metadata && { metadata }), ...(roomId !== undefined && { roomId }) };
        const { eventId } = await emit(agentId, userId, 'agent.started', data, idempotencyKey);
        run.startEventId = eventId;
      } catch (error) {
        if (runs.get(agentId) === run) runs.delete(agentId);
        throw error;
      }
      const finish = () => {
        if (runs.get(agentId) === run) runs.delete(agentId);
      };
      // Deltas go out in order; a failed one stops the chain, so no later delta skips past it.
      let outputLength = 0;
      let outputChain: Promise<void> = Promise.resolve();
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
        output: (text, { idempotencyKey } = {}) => {
          const sent = outputChain.then(async () => {
            await emit(agentId, userId, 'agent.output', { delta: text, offset: outputLength }, idempotencyKey);
            outputLength += text.length;
          });
          outputChain = sent;
          return sent;
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
    stop() {
      agentWatch?.stop();
    },
  };
}

/** Whether event `id` comes after `than` (unknown order counts as after, to never miss a cancel). */
function isAfter(id: string, than: string | undefined): boolean {
  const next = parseEventId(id);
  const previous = than === undefined ? null : parseEventId(than);
  if (!next || !previous || next.epoch !== previous.epoch) return true;
  return next.sequence > previous.sequence;
}
