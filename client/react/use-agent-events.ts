/**
 * useAgentEvents: one agent run's status, progress, result, error and recent events, from the
 * `onAgent({ agentId })` stream. The current state is seeded from `agents.get` whenever the
 * stream (re)starts or reports a gap, so a page opened mid-run shows the run as it is.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { AgentEventType, RealtimeEvent } from '../../shared/events.js';
import { foldOutput } from '../../shared/folds/agent-output.js';
import { agentRunChange, beginsAgentRun } from '../../shared/folds/agent-runs.js';
import type { RouterOutputs } from '../router-types.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';

export type AgentRunState = RouterOutputs['agents']['get'];
/** `idle` until the run's first event (or its state) is known. */
export type AgentRunStatus = 'idle' | AgentRunState['status'];
export type AgentEvent = RealtimeEvent<AgentEventType>;

export interface AgentEventsState {
  status: AgentRunStatus;
  /** 0–100. */
  progress: number;
  /** The `result` of `agent.complete`. */
  result: unknown;
  /** The message of `agent.error`. */
  error: string | undefined;
  /** The current step, from `agent.thinking` / `agent.progress`. */
  step: string | undefined;
  /**
   * The run's text so far: its `agent.output` deltas joined. Exactly the producer's text across
   * reconnects and late opening (the service sends what is missing as one delta).
   */
  output: string;
  /** This run's events (without its `agent.output` deltas, which are `output`) seen by this hook, oldest first (the last `maxEvents`). */
  events: readonly AgentEvent[];
}

export interface UseAgentEventsOptions {
  /** @default 200 */
  maxEvents?: number;
}

const initialAgentState: AgentEventsState = {
  status: 'idle',
  progress: 0,
  result: undefined,
  error: undefined,
  step: undefined,
  output: '',
  events: [],
};

export const agentStreamKey = (agentId: string) => `onAgent:${agentId}`;

/**
 * Safe to re-apply (see LiveState): an event already in `events` is not added again and does not
 * reset the run, but its status still applies, so re-applying in order over an older snapshot
 * moves the state forward to where the events say it is. Which event begins a new run, and what
 * each one changes, are the service's own rules (shared/folds/agent-runs.ts).
 */
export function reduceAgentEvents(state: AgentEventsState, event: AgentEvent, maxEvents = 200): AgentEventsState {
  const seen = state.events.some((known) => known.id === event.id);
  // A new run of the same agent id starts from a clean slate.
  const begins = !seen && beginsAgentRun(state.status === 'idle' ? undefined : state.status, event.type);
  const base = begins ? initialAgentState : state;
  const events = seen || event.type === 'agent.output' ? base.events : [...base.events, event].slice(-maxEvents);
  const change = agentRunChange(event, begins || base.status === 'idle' ? undefined : base.status);
  return {
    status: change.status,
    progress: change.progress ?? base.progress,
    result: change.result ?? base.result,
    error: change.error ?? base.error,
    step: change.step ?? base.step,
    output: event.type === 'agent.output' ? foldOutput(base.output, event.data) : base.output,
    events,
  };
}

function fromRun(state: AgentEventsState, run: AgentRunState): AgentEventsState {
  return { ...state, status: run.status, progress: run.progress, result: run.result, error: run.error, step: run.step };
}

export function useAgentEvents(agentId: string, options: UseAgentEventsOptions = {}): AgentEventsState {
  const { client, hub } = useRealtimeContext();
  const maxEvents = options.maxEvents ?? 200;
  const live = useMemo(
    () => new LiveState<AgentEventsState, AgentEvent>(initialAgentState, (state, event) => reduceAgentEvents(state, event, maxEvents)),
    [agentId, maxEvents],
  );

  useEffect(() => {
    const seed = () =>
      live.reload(async () => {
        try {
          const run = await client.api.agents.get.query({ agentId });
          return (state) => fromRun(state, run);
        } catch {
          // No run yet (NOT_FOUND) or not ours to read: the events are all we have.
          return (state) => state;
        }
      });
    return hub.listen<AgentEvent>(agentStreamKey(agentId), (onEvent, handlers) => client.subscribeToAgent({ agentId, ...handlers }, onEvent), {
      onEvent: (event) => live.apply(event),
      onStarted: seed,
      onGap: seed,
    });
  }, [client, hub, agentId, live]);

  return useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
}
