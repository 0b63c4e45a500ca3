/** The signed-in page: connection, statistics, users, rooms, approvals, inbox, agents, publishing and the feed. */
import { useEffect, useMemo, useRef } from 'react';
import { useGovernanceEvents, useRealtime } from '../../react/index.js';
import type { ConnectionState } from '../../index.js';
import type { TokenClaims } from '../session.js';
import { isAuthError, useServiceQueries } from '../live/use-service-queries.js';
import { useEventFeed } from '../live/use-event-feed.js';
import { useAgentRuns } from '../live/use-agent-runs.js';
import type { PresenceEntry } from '../live/api-types.js';
import { AgentsPanel } from './AgentsPanel.js';
import { ConnectionBadge } from './ConnectionBadge.js';
import { EventFeed } from './EventFeed.js';
import { GovernancePanel } from './GovernancePanel.js';
import { InboxPanel } from './InboxPanel.js';
import { PresencePanel } from './PresencePanel.js';
import { PublishForm } from './PublishForm.js';
import { RoomsPanel } from './RoomsPanel.js';
import { StatsPanel } from './StatsPanel.js';

export interface DashboardProps {
  claims: TokenClaims;
  /** Back to the sign-in box, with the reason to show there (null when the operator chose to). */
  onSignOut(reason: string | null): void;
}

export function Dashboard({ claims, onSignOut }: DashboardProps) {
  const { state, error, transport, client } = useRealtime();
  const { pendingActions, approve, reject } = useGovernanceEvents();
  const service = useServiceQueries();
  const feed = useEventFeed(service.refreshFor);
  const agents = useAgentRuns();

  useRefreshAfterReconnect(state, service.refreshAll);
  usePendingCountInTitle(pendingActions.length);

  // A token the service rejects (bad signature, expired, not admin) cannot recover by retrying.
  const authFailure = [service.stats.error, feed.error].find(isAuthError);
  useEffect(() => {
    if (authFailure) onSignOut(`The service refused this token: ${authFailure.message}`);
  }, [authFailure, onSignOut]);

  const presence = service.presence.data ?? [];
  const rooms = service.rooms.data ?? [];
  const presenceByUser = useMemo(() => new Map<string, PresenceEntry>(presence.map((entry) => [entry.userId, entry])), [presence]);

  return (
    <>
      <header className="topbar">
        <h1>Realtime operator</h1>
        <ConnectionBadge state={state} error={error} transport={transport} />
        <span className="spacer" />
        <span className="who" data-testid="signed-in-as">
          {claims.userId} · {claims.role}
        </span>
        <button type="button" onClick={() => onSignOut(null)} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <main className="dashboard" data-testid="dashboard">
        {state !== 'open' && error && (
          <div className="banner warn" role="status">
            {state === 'reconnecting' ? 'Connection lost; reconnecting. ' : ''}
            {error.message}
          </div>
        )}
        <StatsPanel stats={service.stats.data} />
        <div className="columns">
          <div className="column">
            <PresencePanel users={presence} />
            <RoomsPanel rooms={rooms} presenceByUser={presenceByUser} error={service.rooms.error} />
          </div>
          <div className="column">
            <GovernancePanel pendingActions={pendingActions} approve={approve} reject={reject} />
            <InboxPanel />
            <AgentsPanel runs={agents.runs} cancel={(agentId) => client.api.agents.cancel.mutate({ agentId })} error={agents.error} />
            <PublishForm client={client} roomIds={rooms.map((room) => room.roomId)} userIds={presence.map((entry) => entry.userId)} />
          </div>
          <div className="column">
            <EventFeed feed={feed} />
          </div>
        </div>
      </main>
    </>
  );
}

/** After the socket comes back, refetch the snapshots (events missed meanwhile are replayed too). */
function useRefreshAfterReconnect(state: ConnectionState, refreshAll: () => void) {
  const previous = useRef(state);
  useEffect(() => {
    if (previous.current === 'reconnecting' && state === 'open') refreshAll();
    previous.current = state;
  }, [state, refreshAll]);
}

/** "(2) Realtime operator": a background tab still says that something waits for a decision. */
function usePendingCountInTitle(pending: number) {
  useEffect(() => {
    const original = document.title;
    if (pending > 0) document.title = `(${pending}) ${original}`;
    return () => {
      document.title = original;
    };
  }, [pending]);
}
