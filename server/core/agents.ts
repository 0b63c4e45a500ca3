/**
 * Agent runs: an owner, a lifecycle `started → thinking/progress* → complete | error | cancelled`,
 * and a current state. Events out of order are rejected before they are published, so what
 * subscribers see is always a valid run. Cancelling aborts the run's AbortSignal, which is how an
 * in-process producer hears of it; remote producers hear the `agent.cancelled` event.
 */
import { formatEventId, parseEventId } from '../../shared/event-id.js';
import type { AgentEventType, EventDataInput, RealtimeEvent } from '../../shared/events.js';
import { parseEventData } from '../../shared/events.js';
import { channels } from './channels.js';
import { RealtimeError } from './errors.js';
import type { RealtimeCore } from './realtime-core.js';
import { toValidationError } from './validation.js';

export type AgentStatus = 'started' | 'thinking' | 'running' | 'complete' | 'error' | 'cancelled';
const terminalStatuses: ReadonlySet<AgentStatus> = new Set(['complete', 'error', 'cancelled']);

export function isTerminalAgentStatus(status: AgentStatus): boolean {
  return terminalStatuses.has(status);
}

export interface AgentRunState {
  agentId: string;
  /** The user the run works for: they see its events and may cancel it. */
  ownerId: string;
  /** The service user that emits the run's events over the API; absent for in-process producers. */
  producerId?: string;
  status: AgentStatus;
  /** 0–100; only goes down when the producer says `reset: true`. */
  progress: number;
  task?: string;
  /** The last step named by `agent.thinking` or `agent.progress`. */
  step?: string;
  result?: unknown;
  error?: string;
  cancelledBy?: string;
  cancelReason?: string;
  startedAt: Date;
  updatedAt: Date;
  /**
   * Id of the newest published event of the run. A client that fetched this state subscribes
   * with it as `lastEventId` and receives exactly what happened after.
   */
  lastEventId?: string;
}

/** Data of an agent event without `agentId`, which the service fills in. */
export type AgentEventData<T extends AgentEventType> = Omit<EventDataInput<T>, 'agentId'>;

interface AgentRun {
  state: AgentRunState;
  abort: AbortController;
  /** Id of the event that began the run, once published: where a late subscriber's replay starts. */
  firstEventId?: string;
}

export interface AgentServiceOptions {
  /** Runs remembered; the oldest finished are forgotten past it. @default 10000 */
  maxRuns?: number;
}

/** Who is emitting: a producer (checked against the run's producer) or a canceller (owner or admin, checked by `cancel`). */
type EmitAuthority = 'producer' | 'canceller';

export class AgentService {
  private readonly runs = new Map<string, AgentRun>();

  constructor(
    private readonly core: RealtimeCore,
    private readonly options: AgentServiceOptions = {},
  ) {}

  /**
   * Publishes an agent event for `userId`'s agent after checking it is a valid next step.
   * `senderId` is the producer's own id when it emits over the API: a run started by one
   * producer cannot be driven by another.
   */
  emit<T extends AgentEventType>(
    agentId: string,
    type: T,
    userId: string,
    data: AgentEventData<T>,
    senderId?: string,
  ): Promise<RealtimeEvent<T>> {
    return this.apply(agentId, type, userId, data, senderId, 'producer');
  }

  /** Cancels a running agent: only its owner or an admin may. Aborts the run's signal once published. */
  async cancel(agentId: string, by: { userId: string; isAdmin: boolean }, reason?: string): Promise<RealtimeEvent<'agent.cancelled'>> {
    const run = this.runs.get(agentId);
    if (!run) throw new RealtimeError('NOT_FOUND', `No agent run ${agentId}`);
    if (run.state.ownerId !== by.userId && !by.isAdmin) {
      throw new RealtimeError('FORBIDDEN', `Only the owner of ${agentId} or an admin may cancel it`);
    }
    const data = { cancelledBy: by.userId, ...(reason !== undefined && { reason }) };
    return this.apply(agentId, 'agent.cancelled', run.state.ownerId, data, by.userId, 'canceller');
  }

  /** Aborted when the run is cancelled; a producer passes it to the work it does. */
  signal(agentId: string): AbortSignal | undefined {
    return this.runs.get(agentId)?.abort.signal;
  }

  get(agentId: string): AgentRunState | undefined {
    const run = this.runs.get(agentId);
    return run && { ...run.state };
  }

  list(filter: { ownerId?: string } = {}): AgentRunState[] {
    return [...this.runs.values()]
      .filter((run) => filter.ownerId === undefined || run.state.ownerId === filter.ownerId)
      .map((run) => ({ ...run.state }));
  }

  /**
   * The `lastEventId` from which a subscription replays the whole current run of `agentId`: the
   * id just before the run's first event. Undefined when the run is unknown or its first event
   * is still being published.
   */
  replayPointOf(agentId: string): string | undefined {
    const first = this.runs.get(agentId)?.firstEventId;
    const parsed = first === undefined ? null : parseEventId(first);
    return parsed ? formatEventId(parsed.epoch, Math.max(0, parsed.sequence - 1)) : undefined;
  }

  private async apply<T extends AgentEventType>(
    agentId: string,
    type: T,
    userId: string,
    data: AgentEventData<T>,
    senderId: string | undefined,
    authority: EmitAuthority,
  ): Promise<RealtimeEvent<T>> {
    let parsed;
    try {
      parsed = parseEventData(type, { ...data, agentId });
    } catch (error) {
      throw toValidationError(type, error);
    }
    // The transition is checked and applied synchronously, before anything awaits, so
    // concurrent emits are checked in the order they were made.
    const run = this.transition(agentId, type, userId, parsed as Record<string, unknown>, senderId, authority);
    const event = await this.core.publish(type, parsed, [channels.user(userId), channels.agents], {
      userId,
      ...(senderId !== undefined && { senderId }),
    });
    if (this.runs.get(agentId) === run) {
      if (run.firstEventId === undefined || isNewerEventId(run.firstEventId, event.id)) run.firstEventId = event.id;
      if (isNewerEventId(event.id, run.state.lastEventId)) run.state.lastEventId = event.id;
    }
    if (type === 'agent.cancelled') {
      const { reason } = parsed as { reason?: string };
      run.abort.abort(new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} was cancelled${senderId ? ` by ${senderId}` : ''}${reason ? `: ${reason}` : ''}`));
    }
    return event;
  }

  private transition(
    agentId: string,
    type: AgentEventType,
    userId: string,
    data: Record<string, unknown>,
    senderId: string | undefined,
    authority: EmitAuthority,
  ): AgentRun {
    const now = new Date();
    let run = this.runs.get(agentId);
    const finished = run !== undefined && terminalStatuses.has(run.state.status);
    if (run && run.state.ownerId !== userId && !finished) {
      throw new RealtimeError('FORBIDDEN', `Agent ${agentId} belongs to another user`);
    }
    // The seed's emit_agent_event begins a run with `agent.thinking`; an unknown agent may start so.
    // After a run has ended, only `agent.started` begins the next one.
    const startsRun = type === 'agent.started' || ((type === 'agent.thinking' || type === 'agent.progress') && !run);
    if (startsRun) {
      if (run && !finished) throw new RealtimeError('CONFLICT', `Agent ${agentId} is already running (${run.state.status})`);
      run = {
        state: {
          agentId,
          ownerId: userId,
          ...(senderId !== undefined && { producerId: senderId }),
          status: 'started',
          progress: 0,
          startedAt: now,
          updatedAt: now,
        },
        abort: new AbortController(),
      };
    } else {
      if (!run) throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} has no run; emit agent.started first`);
      if (finished) {
        throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} already ended (${run.state.status}); ${type} is out of order`);
      }
      const producerId = run.state.producerId;
      if (authority === 'producer' && producerId !== undefined && senderId !== undefined && senderId !== producerId) {
        throw new RealtimeError('FORBIDDEN', `Agent ${agentId} is driven by producer ${producerId}`);
      }
    }
    // Every check that can fail comes before the first mutation, so a rejected event changes nothing.
    const state = { ...run.state };
    if (type === 'agent.progress' && (data.progress as number) < state.progress && data.reset !== true) {
      throw new RealtimeError(
        'PRECONDITION_FAILED',
        `Progress of ${agentId} cannot go back from ${state.progress} to ${String(data.progress)} (send reset: true to restart the count)`,
      );
    }
    foldAgentEvent(state, type, data);
    state.updatedAt = now;
    run.state = state;
    if (startsRun) {
      // Re-inserted so the map stays ordered by start, and the oldest finished runs go first.
      this.runs.delete(agentId);
      this.runs.set(agentId, run);
      this.forgetOldRuns();
    }
    return run;
  }

  /**
   * Folds an agent event published by any process into the run's state, so every process knows
   * runs driven elsewhere (and can cancel them), and an in-process producer's signal aborts when
   * another process cancels its run. Idempotent: this process's own events fold to the state
   * `transition` already gave the run.
   */
  observe(event: RealtimeEvent): void {
    if (!event.type.startsWith('agent.')) return;
    const data = event.data as Record<string, unknown> & { agentId: string };
    let run = this.runs.get(data.agentId);
    if (run?.state.lastEventId !== undefined && !isNewerEventId(event.id, run.state.lastEventId)) return;
    const startsRun = !run || (terminalStatuses.has(run.state.status) && event.type !== 'agent.cancelled' && event.type !== 'agent.complete' && event.type !== 'agent.error');
    if (startsRun) {
      run = {
        state: {
          agentId: data.agentId,
          ownerId: event.userId ?? run?.state.ownerId ?? 'unknown',
          ...(event.senderId !== undefined && event.type !== 'agent.cancelled' && { producerId: event.senderId }),
          status: 'started',
          progress: 0,
          startedAt: event.timestamp,
          updatedAt: event.timestamp,
        },
        abort: new AbortController(),
        firstEventId: event.id,
      };
      this.runs.delete(data.agentId);
      this.runs.set(data.agentId, run);
      this.forgetOldRuns();
    }
    const current = run!;
    current.firstEventId ??= event.id;
    foldAgentEvent(current.state, event.type as AgentEventType, data);
    if (event.type === 'agent.cancelled' && !current.abort.signal.aborted) {
      const reason = typeof data.reason === 'string' ? `: ${data.reason}` : '';
      current.abort.abort(new RealtimeError('PRECONDITION_FAILED', `Agent ${data.agentId} was cancelled by ${String(data.cancelledBy ?? 'someone')}${reason}`));
    }
    const state = current.state;
    state.updatedAt = event.timestamp;
    state.lastEventId = event.id;
  }

  private forgetOldRuns(): void {
    const max = this.options.maxRuns ?? 10_000;
    if (this.runs.size <= max) return;
    for (const [agentId, run] of this.runs) {
      if (this.runs.size <= max) break;
      if (terminalStatuses.has(run.state.status)) this.runs.delete(agentId);
    }
  }
}

/** What an agent event does to a run's state; checks come before (see `transition`). */
function foldAgentEvent(state: AgentRunState, type: AgentEventType, data: Record<string, unknown>): void {
  switch (type) {
    case 'agent.started':
      if (typeof data.task === 'string') state.task = data.task;
      break;
    case 'agent.thinking':
      state.status = 'thinking';
      if (typeof data.step === 'string') state.step = data.step;
      break;
    case 'agent.progress':
      state.status = 'running';
      state.progress = data.progress as number;
      if (typeof data.step === 'string') state.step = data.step;
      break;
    case 'agent.complete':
      state.status = 'complete';
      state.progress = 100;
      if (data.result !== undefined) state.result = data.result;
      break;
    case 'agent.error':
      state.status = 'error';
      state.error = data.error as string;
      break;
    case 'agent.cancelled':
      state.status = 'cancelled';
      if (typeof data.cancelledBy === 'string') state.cancelledBy = data.cancelledBy;
      if (typeof data.reason === 'string') state.cancelReason = data.reason;
      break;
  }
}

/** Whether `id` comes after `than` (a bus may resolve concurrent publishes out of order). */
function isNewerEventId(id: string, than: string | undefined): boolean {
  if (than === undefined) return true;
  const next = parseEventId(id);
  const previous = parseEventId(than);
  if (!next || !previous || next.epoch !== previous.epoch) return true;
  return next.sequence > previous.sequence;
}
