/** Every agent run (admins see all): seeded from agents.list, then live from the onAgent stream. */
import { useEffect, useMemo, useRef, useState } from 'react';
import { trpc, useRealtimeClient } from '../../react/index.js';
import { applyAgentEvent, orderedRuns, seedRuns, type AgentRuns, type AgentRunView } from './agent-runs.js';

export function useAgentRuns(): { runs: AgentRunView[]; error: string | null } {
  const client = useRealtimeClient();
  const [runs, setRuns] = useState<AgentRuns>(() => new Map());
  const [streamError, setStreamError] = useState<Error | null>(null);
  // Fetched once: the stream keeps the rows current, and a gap refetches.
  const listed = trpc.agents.list.useQuery(undefined, { staleTime: Infinity });

  useEffect(() => {
    if (listed.data) setRuns((current) => seedRuns(current, listed.data));
  }, [listed.data]);

  const refetchList = useRef(listed.refetch);
  refetchList.current = listed.refetch;

  useEffect(() => {
    setStreamError(null);
    return client.subscribeToAgent(
      {
        onError: setStreamError,
        // Events were lost: the list is the truth again.
        onGap: () => void refetchList.current(),
      },
      (event) => setRuns((current) => applyAgentEvent(current, event)),
    );
  }, [client]);

  const ordered = useMemo(() => orderedRuns(runs), [runs]);
  return { runs: ordered, error: streamError?.message ?? listed.error?.message ?? null };
}
