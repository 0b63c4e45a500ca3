/**
 * What callers of the governance service pass (a request, a decider, the options of
 * `requireApproval`) and the error a denied approval rejects with.
 */
import type { EventDataInput } from '../../shared/events.js';
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import { RealtimeError } from './errors.js';

export interface ApprovalRequest {
  actionId?: string;
  action: string;
  description?: string;
  agentId?: string;
  details?: EventDataInput<'governance.required'>['details'];
  /** Users who may decide; admins always may. */
  approvers: string[];
  /** How many of the approvers must approve (one rejection rejects). @default 1 */
  quorum?: number;
  /** @default the service's default expiry (5 minutes) */
  expiresInMs?: number;
  requesterId: string;
}

export interface Decider {
  userId: string;
  isAdmin: boolean;
}

/** What `requireApproval(action, options)` takes besides the action's name. */
export interface RequireApprovalOptions extends Omit<ApprovalRequest, 'action' | 'requesterId'> {
  /** Who asks; the requester hears the decision and may withdraw. @default 'system' */
  requesterId?: string;
  /** Aborting withdraws the action (rejected by the requester, reason `withdrawn`) and rejects the wait. */
  signal?: AbortSignal;
}

/** Thrown by `requireApproval` when the action was rejected (or withdrawn) or expired. */
export class ApprovalDeniedError extends RealtimeError {
  constructor(readonly action: GovernanceAction) {
    const by = action.decidedBy ? ` by ${action.decidedBy}` : '';
    const reason = action.reason ? `: ${action.reason}` : '';
    super('PRECONDITION_FAILED', `Action ${action.actionId} (${action.action}) was ${action.status}${by}${reason}`);
    this.name = 'ApprovalDeniedError';
  }
}
