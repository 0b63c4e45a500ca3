/**
 * The agents panel's model: one row per agent run, seeded from `agents.list` and moved along by
 * the agent.* events. Whichever of the two is newer wins, so a list that was fetched before an
 * event arrived cannot roll a run back.
 */
import type { AgentEventType, RealtimeEvent } from '../../../shared/events.js';
import type { AgentRun, AgentStatus } from './api-types.js';

export interface AgentRunView {
  agentId: string;
  ownerId?: string;
  status: AgentStatus;
  /** 0–100. */
  progress: number;
  task?: string;
  step?: string;
  error?: string;
  updatedAt: Date;
}

export type AgentRuns = ReadonlyMap<string, AgentRunView>;

/** Runs kept; the oldest finished ones go first. */
const maxRuns = 200;
const finished: ReadonlySet<AgentStatus> = new Set(['complete', 'error', 'cancelled']);

export function seedRuns(runs: AgentRuns, listed: readonly AgentRun[]): AgentRuns {
  const next = new Map(runs);
  for (const run of listed) {
    const known = next.get(run.agentId);
    if (known && known.updatedAt >= run.updatedAt) continue;
    next.set(run.agentId, {
      agentId: run.agentId,
      ownerId: run.ownerId,
      status: run.status,
      progress: run.progress,
      ...(run.task !== undefined && { task: run.task }),
      ...(run.step !== undefined && { step: run.step }),
      ...(run.error !== undefined && { error: run.error }),
      updatedAt: run.updatedAt,
    });
  }
  return prune(next);
}

export function applyAgentEvent(runs: AgentRuns, event: RealtimeEvent<AgentEventType>): AgentRuns {
  const { agentId } = event.data;
  const known = runs.get(agentId);
  if (known && known.updatedAt > event.timestamp) return runs;
  const base: AgentRunView = known ?? { agentId, status: 'started', progress: 0, updatedAt: event.timestamp };
  const owner = event.userId ?? base.ownerId;
  const next: AgentRunView = { ...base, ...(owner !== undefined && { ownerId: owner }), updatedAt: event.timestamp };
  switch (event.type) {
    case 'agent.started':
      Object.assign(next, { status: 'started', progress: 0, error: undefined, step: undefined });
      if (event.data.task !== undefined) next.task = event.data.task;
      break;
    case 'agent.thinking':
      next.status = 'thinking';
      if (event.data.step !== undefined) next.step = event.data.step;
      break;
    case 'agent.progress':
      next.status = 'running';
      next.progress = event.data.progress;
      if (event.data.step !== undefined) next.step = event.data.step;
      break;
    case 'agent.complete':
      next.status = 'complete';
      next.progress = 100;
      break;
    case 'agent.error':
      next.status = 'error';
      next.error = event.data.error;
      break;
    case 'agent.cancelled':
      next.status = 'cancelled';
      if (event.data.reason !== undefined) next.step = `cancelled: ${event.data.reason}`;
      break;
  }
  return prune(new Map(runs).set(agentId, next));
}

/** Active runs first, then the most recently updated. */
export function orderedRuns(runs: AgentRuns): AgentRunView[] {
  return [...runs.values()].sort(
    (a, b) => Number(finished.has(a.status)) - Number(finished.has(b.status)) || b.updatedAt.getTime() - a.updatedAt.getTime(),
  );
}

export function isFinished(run: AgentRunView): boolean {
  return finished.has(run.status);
}

function prune(runs: Map<string, AgentRunView>): Map<string, AgentRunView> {
  if (runs.size <= maxRuns) return runs;
  const oldestFinished = [...runs.values()].filter(isFinished).sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
  for (const run of oldestFinished.slice(0, runs.size - maxRuns)) runs.delete(run.agentId);
  return runs;
}
