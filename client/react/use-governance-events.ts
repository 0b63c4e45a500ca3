/**
 * useGovernanceEvents: the actions waiting for the caller's decision, and approve / reject.
 *
 * The list is seeded from `governance.pending` (the server decides who may decide what: the
 * approvers, or every action for an admin). A `governance.required` reloads it rather than being
 * added from the event, because the requester also receives that event and must not see an
 * action they cannot decide. Approved, rejected and expired actions leave the list at once.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { GovernanceEventType, RealtimeEvent } from '../../shared/events.js';
import { foldGovernanceAction, isPendingAction } from '../../shared/folds/governance-actions.js';
import type { RouterOutputs } from '../router-types.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';

export type PendingAction = RouterOutputs['governance']['pending'][number];
export type GovernanceDecision = RouterOutputs['governance']['approve'];
export type GovernanceEvent = RealtimeEvent<GovernanceEventType>;

export interface GovernanceEventsState {
  /** Pending actions the caller may decide, oldest first; `approvals` / `quorum` say how far each has come. */
  pendingActions: readonly PendingAction[];
  approve: (actionId: string, reason?: string) => Promise<GovernanceDecision>;
  reject: (actionId: string, reason?: string) => Promise<GovernanceDecision>;
  /** The last failure to load the list, if any. */
  error: Error | undefined;
}

interface PendingState {
  actions: readonly PendingAction[];
  error: Error | undefined;
}

const initialPending: PendingState = { actions: [], error: undefined };

export const governanceStreamKey = 'onGovernance';

function without(state: PendingState, actionId: string): PendingState {
  if (!state.actions.some((action) => action.actionId === actionId)) return state;
  return { ...state, actions: state.actions.filter((action) => action.actionId !== actionId) };
}

/**
 * Idempotent (see LiveState): an action leaves the list when the service's fold
 * (shared/folds/governance-actions.ts) settles it; what is gone, or unchanged, changes nothing.
 */
export function reducePendingActions(state: PendingState, event: GovernanceEvent): PendingState {
  const known = state.actions.find((action) => action.actionId === event.data.actionId);
  if (!known) return state;
  const next = foldGovernanceAction(known, event);
  if (!isPendingAction(next)) return without(state, known.actionId);
  // An approval short of the quorum: the action shows who has approved so far.
  return next === known ? state : { ...state, actions: state.actions.map((action) => (action === known ? next : action)) };
}

export function useGovernanceEvents(): GovernanceEventsState {
  const { client, hub } = useRealtimeContext();
  const live = useMemo(
    () => new LiveState<PendingState, GovernanceEvent>(initialPending, reducePendingActions, (error) =>
      live.update((state) => ({ ...state, error: error instanceof Error ? error : new Error(String(error)) })),
    ),
    [client],
  );

  useEffect(() => {
    const reload = () =>
      live.reload(async () => {
        const actions = await client.api.governance.pending.query();
        return (state) => ({ ...state, actions, error: undefined });
      });
    return hub.listen<GovernanceEvent>(governanceStreamKey, (onEvent, handlers) => client.subscribeToGovernance(onEvent, handlers), {
      onEvent: (event) => {
        live.apply(event);
        if (event.type === 'governance.required' || event.type === 'governance.pending') reload();
      },
      onStarted: reload,
      onGap: reload,
    });
  }, [client, hub, live]);

  const decide = useMemo(() => {
    const decided = (decision: GovernanceDecision) => {
      live.update((state) => without(state, decision.actionId));
      return decision;
    };
    return {
      approve: (actionId: string, reason?: string) =>
        client.api.governance.approve.mutate({ actionId, ...(reason !== undefined && { reason }) }).then(decided),
      reject: (actionId: string, reason?: string) =>
        client.api.governance.reject.mutate({ actionId, ...(reason !== undefined && { reason }) }).then(decided),
    };
  }, [client, live]);

  const { actions, error } = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  return { pendingActions: actions, error, ...decide };
}
