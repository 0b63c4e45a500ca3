/** Agent runs with their progress; a running one can be cancelled. */
import { useState } from 'react';
import { isFinished, runDetail, type AgentRunView } from '../live/agent-runs.js';
import { formatAge } from '../live/format.js';
import { useNow } from '../live/use-now.js';

export interface AgentsPanelProps {
  runs: readonly AgentRunView[];
  cancel(agentId: string): Promise<unknown>;
  /** Why the list or the stream failed, if it did. */
  error: string | null;
}

/** The tail of a run's streamed text shown under its bar (the whole text may be a megabyte). */
const maxOutputShown = 2_000;

/** Rows shown; the rest are summarised (active runs sort first). */
const maxShown = 25;

export function AgentsPanel({ runs, cancel, error }: AgentsPanelProps) {
  const now = useNow();
  const active = runs.filter((run) => !isFinished(run)).length;
  return (
    <section className="panel" data-testid="agents-panel">
      <div className="panel-header">
        <h2>Agents</h2>
        <span className="count">
          {active} active · {runs.length} known
        </span>
      </div>
      {error && <div className="error-text">{error}</div>}
      {runs.length === 0 ? (
        <div className="empty">No agent has run yet.</div>
      ) : (
        runs.slice(0, maxShown).map((run) => <AgentRow key={run.agentId} run={run} cancel={cancel} now={now} />)
      )}
      {runs.length > maxShown && <div className="muted">and {runs.length - maxShown} older finished runs</div>}
    </section>
  );
}

function AgentRow({ run, cancel, now }: { run: AgentRunView; cancel: AgentsPanelProps['cancel']; now: number }) {
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const progress = Math.round(run.progress);
  const detail = runDetail(run);

  const onCancel = async () => {
    setCancelling(true);
    setError(null);
    try {
      await cancel(run.agentId);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setCancelling(false);
    }
  };

  return (
    <div className="agent" data-testid={`agent-${run.agentId}`} data-status={run.status}>
      <div className="agent-head">
        <span className="name" title={run.task}>
          {run.agentId}
        </span>
        <span className="badge" data-status={run.status}>
          {run.status}
        </span>
        <span className="muted">{progress}%</span>
        {!isFinished(run) && (
          <button type="button" className="small reject" disabled={cancelling} onClick={() => void onCancel()}>
            Cancel
          </button>
        )}
      </div>
      <div
        className="progress"
        data-status={run.status}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress}
        aria-label={`${run.agentId} progress`}
      >
        <div style={{ width: `${progress}%` }} />
      </div>
      <div className="detail">
        {[run.ownerId && `for ${run.ownerId}`, detail, formatAge(run.updatedAt, now)].filter(Boolean).join(' · ')}
      </div>
      {run.output && (
        <pre className="agent-output" data-testid={`agent-output-${run.agentId}`} aria-live="polite">
          {run.output.length > maxOutputShown ? `…${run.output.slice(-maxOutputShown)}` : run.output}
        </pre>
      )}
      {error && <div className="error-text">{error}</div>}
    </div>
  );
}
