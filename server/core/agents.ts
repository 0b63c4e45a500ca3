/**
 * Agent runs: an owner, a lifecycle `started → thinking/progress* → complete | error | cancelled`,
 * and a current state. Events out of order are rejected before they are published, so what
 * subscribers see is always a valid run. Cancelling aborts the run's AbortSignal, which is how an
 * in-process producer hears of it.
 */
import type { AgentEventType, EventDataInput, RealtimeEvent } from '../../shared/events.js';
import { parseEventData } from '../../shared/events.js';
import { channels } from './channels.js';
import { RealtimeError } from './errors.js';
import type { RealtimeCore } from './realtime-core.js';
import { toValidationError } from './validation.js';

export type AgentStatus = 'started' | 'thinking' | 'running' | 'complete' | 'error' | 'cancelled';
const terminalStatuses: ReadonlySet<AgentStatus> = new Set(['complete', 'error', 'cancelled']);

export interface AgentRunState {
  agentId: string;
  ownerId: string;
  status: AgentStatus;
  progress: number;
  task?: string;
  step?: string;
  result?: unknown;
  error?: string;
  cancelledBy?: string;
  startedAt: Date;
  updatedAt: Date;
}

/** Data of an agent event without `agentId`, which the service fills in. */
export type AgentEventData<T extends AgentEventType> = Omit<EventDataInput<T>, 'agentId'>;

interface AgentRun {
  state: AgentRunState;
  abort: AbortController;
}

export class AgentService {
  private readonly runs = new Map<string, AgentRun>();

  constructor(
    private readonly core: RealtimeCore,
    private readonly options: { /** Runs remembered; the oldest finished are forgotten past it. @default 10000 */ maxRuns?: number } = {},
  ) {}

  /** Publishes an agent event for `userId`'s agent after checking it is a valid next step. */
  async emit<T extends AgentEventType>(
    agentId: string,
    type: T,
    userId: string,
    data: AgentEventData<T>,
    senderId?: string,
  ): Promise<RealtimeEvent<T>> {
    let parsed;
    try {
      parsed = parseEventData(type, { ...data, agentId });
    } catch (error) {
      throw toValidationError(type, error);
    }
    this.transition(agentId, type, userId, parsed as Record<string, unknown>);
    return this.core.publish(type, parsed, [channels.user(userId), channels.agents], {
      userId,
      ...(senderId !== undefined && { senderId }),
    });
  }

  /** Cancels a running agent: only its owner or an admin may. */
  async cancel(agentId: string, by: { userId: string; isAdmin: boolean }, reason?: string) {
    const run = this.runs.get(agentId);
    if (!run) throw new RealtimeError('NOT_FOUND', `No agent run ${agentId}`);
    if (run.state.ownerId !== by.userId && !by.isAdmin) {
      throw new RealtimeError('FORBIDDEN', `Only the owner of ${agentId} or an admin may cancel it`);
    }
    const data = { cancelledBy: by.userId, ...(reason !== undefined && { reason }) };
    const event = await this.emit(agentId, 'agent.cancelled', run.state.ownerId, data, by.userId);
    run.abort.abort(new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} was cancelled by ${by.userId}`));
    return event;
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

  private transition(agentId: string, type: AgentEventType, userId: string, data: Record<string, unknown>): void {
    const now = new Date();
    let run = this.runs.get(agentId);
    const finished = run !== undefined && terminalStatuses.has(run.state.status);
    if (run && run.state.ownerId !== userId && !finished) {
      throw new RealtimeError('FORBIDDEN', `Agent ${agentId} belongs to another user`);
    }
    const startsRun = type === 'agent.started' || ((type === 'agent.thinking' || type === 'agent.progress') && !run);
    if (startsRun) {
      if (run && !finished) throw new RealtimeError('CONFLICT', `Agent ${agentId} is already running`);
      run = {
        state: { agentId, ownerId: userId, status: 'started', progress: 0, startedAt: now, updatedAt: now },
        abort: new AbortController(),
      };
      this.runs.delete(agentId);
      this.runs.set(agentId, run);
      this.forgetOldRuns();
    }
    if (!run) throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} has no run; emit agent.started first`);
    if (!startsRun && finished) {
      throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} already ended (${run.state.status}); ${type} is out of order`);
    }
    const state = run.state;
    switch (type) {
      case 'agent.started':
        if (typeof data.task === 'string') state.task = data.task;
        break;
      case 'agent.thinking':
        state.status = 'thinking';
        if (typeof data.step === 'string') state.step = data.step;
        break;
      case 'agent.progress': {
        const progress = data.progress as number;
        if (progress < state.progress) {
          throw new RealtimeError('PRECONDITION_FAILED', `Progress of ${agentId} cannot go back from ${state.progress} to ${progress}`);
        }
        state.status = 'running';
        state.progress = progress;
        if (typeof data.step === 'string') state.step = data.step;
        break;
      }
      case 'agent.complete':
        state.status = 'complete';
        state.progress = 100;
        state.result = data.result;
        break;
      case 'agent.error':
        state.status = 'error';
        state.error = data.error as string;
        break;
      case 'agent.cancelled':
        state.status = 'cancelled';
        if (typeof data.cancelledBy === 'string') state.cancelledBy = data.cancelledBy;
        break;
    }
    state.updatedAt = now;
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
