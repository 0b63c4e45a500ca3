/**
 * The one fold of an agent run: what each `agent.*` event does to a run, written once and used by
 * every process of the service (the publishing one and those that only observe), by the
 * `useAgentEvents` hook and by the dashboard. The service checks an event against the run before
 * it publishes (server/core/agents.ts); this file only says what a valid event changes.
 *
 * Pure: no clock, no I/O, no mutation of its inputs, so it folds plain objects in unit tests the
 * same way it folds live events.
 */
import { isNewerEventId } from '../event-id.js';
import type { AgentEventType } from '../events.js';
import type { FoldEvent } from './fold-event.js';

export type AgentStatus = 'started' | 'thinking' | 'running' | 'complete' | 'error' | 'cancelled';
export type TerminalAgentStatus = Extract<AgentStatus, 'complete' | 'error' | 'cancelled'>;

export function isTerminalAgentStatus(status: AgentStatus): status is TerminalAgentStatus {
  return status === 'complete' || status === 'error' || status === 'cancelled';
}

/** What the agent-run fold reads of an event (fold-event.ts). */
export type AgentRunEvent<T extends AgentEventType = AgentEventType> = FoldEvent<T>;

/** Where the lifecycle has put a run: what the hook shows and what the progress check reads. */
export interface AgentRunProgress {
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
}

export interface AgentRun extends AgentRunProgress {
  agentId: string;
  /** The user the run works for: they see its events and may cancel it. */
  ownerId: string;
  /** The room the run belongs to (`agent.started`'s `roomId`): its members see the run too. */
  roomId?: string;
  /** The service user that emits the run's events over the API; absent for in-process producers. */
  producerId?: string;
  startedAt: Date;
  updatedAt: Date;
  /**
   * Id of the newest published event of the run. A client that fetched this state subscribes
   * with it as `lastEventId` and receives exactly what happened after.
   */
  lastEventId?: string;
}

/**
 * Whether `type` begins a new run of an agent whose current run is at `status` (undefined: no run
 * known). A run ends with complete, error or cancelled; after that any event but another ending
 * begins the next one. (The service accepts only `agent.started` there, and `agent.thinking` /
 * `agent.progress` for an agent never seen, as the seed's `emit_agent_event` began runs; a process
 * that missed a run's start still folds the rest of it.)
 */
export function beginsAgentRun(status: AgentStatus | undefined, type: AgentEventType): boolean {
  if (status === undefined) return true;
  // Output arrives only inside a run: a late delta never begins the next one.
  return isTerminalAgentStatus(status) && type !== 'agent.complete' && type !== 'agent.error' && type !== 'agent.cancelled' && type !== 'agent.output';
}

/**
 * The fields one event changes; the rest of the run stays as it was. `current` is the run's
 * status before it (output keeps a thinking or running status, and moves a started run to running).
 */
export function agentRunChange(event: AgentRunEvent, current?: AgentStatus): Partial<AgentRunProgress> & Pick<AgentRunProgress, 'status'> {
  switch (event.type) {
    case 'agent.output':
      return { status: current === undefined || current === 'started' ? 'running' : current };
    case 'agent.started':
      return { status: 'started', ...(event.data.task !== undefined && { task: event.data.task }) };
    case 'agent.thinking':
      return { status: 'thinking', ...(event.data.step !== undefined && { step: event.data.step }) };
    case 'agent.progress':
      return { status: 'running', progress: event.data.progress, ...(event.data.step !== undefined && { step: event.data.step }) };
    case 'agent.complete':
      return { status: 'complete', progress: 100, ...(event.data.result !== undefined && { result: event.data.result }) };
    case 'agent.error':
      return { status: 'error', error: event.data.error };
    case 'agent.cancelled':
      return {
        status: 'cancelled',
        ...(event.data.cancelledBy !== undefined && { cancelledBy: event.data.cancelledBy }),
        ...(event.data.reason !== undefined && { cancelReason: event.data.reason }),
      };
  }
}

/**
 * Folds one event into the run. An event that is not newer than the run's `lastEventId` changes
 * nothing (the same object comes back), so folding an event twice, or an older one after a newer
 * snapshot, equals folding it once: a bus may deliver concurrent publishes out of order, and a
 * client re-applies events over a snapshot.
 */
export function foldAgentRun(run: AgentRun | undefined, event: AgentRunEvent): AgentRun {
  if (run && event.id !== undefined && run.lastEventId !== undefined && !isNewerEventId(event.id, run.lastEventId)) return run;
  const base = run === undefined || beginsAgentRun(run.status, event.type) ? newRun(run, event) : run;
  return {
    ...base,
    ...agentRunChange(event, base === run ? run.status : undefined),
    updatedAt: event.timestamp,
    ...(event.id !== undefined && { lastEventId: event.id }),
  };
}

function newRun(previous: AgentRun | undefined, event: AgentRunEvent): AgentRun {
  return {
    agentId: event.data.agentId,
    ownerId: event.userId ?? previous?.ownerId ?? 'unknown',
    ...(event.type === 'agent.started' && event.data.roomId !== undefined && { roomId: event.data.roomId }),
    // A canceller is not the run's producer.
    ...(event.senderId !== undefined && event.type !== 'agent.cancelled' && { producerId: event.senderId }),
    status: 'started',
    progress: 0,
    startedAt: event.timestamp,
    updatedAt: event.timestamp,
  };
}
