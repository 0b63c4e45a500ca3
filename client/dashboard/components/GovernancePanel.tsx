/** Actions waiting for a decision, with approve and reject. An action leaves when decided or expired. */
import { useState } from 'react';
import { formatSpan } from '../live/format.js';
import { useNow } from '../live/use-now.js';

/** What a card shows; the fields the pending query and the governance.required event share. */
export interface PendingActionView {
  actionId: string;
  action: string;
  description?: string;
  agentId?: string;
  requesterId?: string;
  approvers?: readonly string[];
  expiresAt?: Date;
}

export interface GovernancePanelProps {
  pendingActions: readonly PendingActionView[];
  approve(actionId: string): Promise<unknown>;
  reject(actionId: string): Promise<unknown>;
}

export function GovernancePanel({ pendingActions, approve, reject }: GovernancePanelProps) {
  return (
    <section className="panel" data-testid="governance-panel">
      <div className="panel-header">
        <h2>Pending approvals</h2>
        <span className="count" data-testid="governance-count">
          {pendingActions.length}
        </span>
      </div>
      {pendingActions.length === 0 ? (
        <div className="empty">Nothing waits for a decision.</div>
      ) : (
        pendingActions.map((action) => (
          <ActionCard key={action.actionId} action={action} approve={approve} reject={reject} />
        ))
      )}
    </section>
  );
}

function ActionCard({ action, approve, reject }: { action: PendingActionView } & Omit<GovernancePanelProps, 'pendingActions'>) {
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const decide = async (decision: typeof approve) => {
    setBusy(true);
    setError(null);
    try {
      await decision(action.actionId);
      // On success the card leaves with the governance.approved/rejected event; nothing to reset.
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };

  return (
    <div className="action-card" data-testid={`governance-action-${action.actionId}`}>
      <div className="title">{action.action}</div>
      {action.description && <div>{action.description}</div>}
      <div className="muted">{describe(action, now).join(' · ')}</div>
      <div className="buttons">
        <button type="button" className="approve" disabled={busy} onClick={() => void decide(approve)} data-testid={`approve-${action.actionId}`}>
          Approve
        </button>
        <button type="button" className="reject" disabled={busy} onClick={() => void decide(reject)} data-testid={`reject-${action.actionId}`}>
          Reject
        </button>
        {error && <span className="error-text">{error}</span>}
      </div>
    </div>
  );
}

function describe(action: PendingActionView, now: number): string[] {
  const parts: string[] = [];
  if (action.requesterId) parts.push(`requested by ${action.requesterId}`);
  if (action.agentId) parts.push(`agent ${action.agentId}`);
  if (action.approvers && action.approvers.length > 0) parts.push(`approvers: ${action.approvers.join(', ')}`);
  if (action.expiresAt) {
    const secondsLeft = (action.expiresAt.getTime() - now) / 1000;
    parts.push(secondsLeft > 0 ? `expires in ${formatSpan(secondsLeft)}` : 'expiring');
  }
  return parts;
}
