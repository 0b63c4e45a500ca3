/**
 * The agents panel's model: one row per agent run, seeded from `agents.list` and moved along by
 * the agent.* events with the service's own fold (shared/folds/agent-runs.ts). The fold skips an
 * event not newer than the run's `lastEventId`, and a listed run replaces a row only when it is
 * newer, so a list fetched before an event arrived cannot roll a run back.
 */
import type { AgentEventType, RealtimeEvent } from '../../../shared/events.js';
import { foldOutput } from '../../../shared/folds/agent-output.js';
import { beginsAgentRun, foldAgentRun, isTerminalAgentStatus, type AgentRun } from '../../../shared/folds/agent-runs.js';

/** A run, with the text its `agent.output` deltas have streamed so far. */
export type AgentRunView = AgentRun & { output?: string };
export type AgentRuns = ReadonlyMap<string, AgentRunView>;

/** Runs kept; the oldest finished ones go first. */
const maxRuns = 200;

export function seedRuns(runs: AgentRuns, listed: readonly AgentRun[]): AgentRuns {
  const next = new Map(runs);
  for (const run of listed) {
    const known = next.get(run.agentId);
    if (known && known.updatedAt >= run.updatedAt) continue;
    // The list carries no text: the run's own text stays (the stream sends what is missing).
    const sameRun = known !== undefined && known.startedAt.getTime() === run.startedAt.getTime();
    next.set(run.agentId, sameRun && known.output !== undefined ? { ...run, output: known.output } : run);
  }
  return prune(next);
}

export function applyAgentEvent(runs: AgentRuns, event: RealtimeEvent<AgentEventType>): AgentRuns {
  const known = runs.get(event.data.agentId);
  const folded = foldAgentRun(known, event);
  if (folded === known) return runs;
  const begins = known === undefined || beginsAgentRun(known.status, event.type);
  const before = begins ? '' : (known.output ?? '');
  const output = event.type === 'agent.output' ? foldOutput(before, event.data) : before;
  const next: AgentRunView = output === '' ? folded : { ...folded, output };
  return prune(new Map(runs).set(next.agentId, next));
}

/** Active runs first, then the most recently updated. */
export function orderedRuns(runs: AgentRuns): AgentRunView[] {
  return [...runs.values()].sort(
    (a, b) => Number(isFinished(a)) - Number(isFinished(b)) || b.updatedAt.getTime() - a.updatedAt.getTime(),
  );
}

export function isFinished(run: AgentRunView): boolean {
  return isTerminalAgentStatus(run.status);
}

/** What the row says under the bar: the error, why it was cancelled, the step or the task. */
export function runDetail(run: AgentRunView): string | undefined {
  return run.error ?? (run.cancelReason !== undefined ? `cancelled: ${run.cancelReason}` : (run.step ?? run.task));
}

function prune(runs: Map<string, AgentRunView>): Map<string, AgentRunView> {
  if (runs.size <= maxRuns) return runs;
  const oldestFinished = [...runs.values()].filter(isFinished).sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
  for (const run of oldestFinished.slice(0, runs.size - maxRuns)) runs.delete(run.agentId);
  return runs;
}
