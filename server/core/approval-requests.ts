/**
 * What callers of the governance service pass (a request, a decider, the options of
 * `requireApproval`), how a request is checked and made into its event, and the error a denied
 * approval rejects with.
 */
import { parseEventData, type EventDataInput } from '../../shared/events.js';
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import { RealtimeError } from './errors.js';
import { toValidationError } from './validation.js';

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

/** setTimeout fires at once past this delay (a signed 32-bit number of milliseconds). */
export const maxTimerDelayMs = 2 ** 31 - 1;

/**
 * A request checked (approvers, quorum, expiry) and made into its `governance.required` data:
 * `data` as it is published, `parsed` as the catalog's schema reads it (dates coerced).
 */
export function requiredEventData(request: ApprovalRequest, actionId: string, defaultExpiresInMs: number, now: Date) {
  const approvers = [...new Set(request.approvers)];
  if (approvers.length === 0) throw new RealtimeError('BAD_REQUEST', 'An action needs at least one approver');
  if (request.quorum !== undefined && (!Number.isInteger(request.quorum) || request.quorum < 1 || request.quorum > approvers.length)) {
    throw new RealtimeError('BAD_REQUEST', `quorum must be between 1 and the ${approvers.length} approvers`);
  }
  const expiresInMs = request.expiresInMs ?? defaultExpiresInMs;
  if (!Number.isFinite(expiresInMs) || expiresInMs < 0 || expiresInMs > maxTimerDelayMs) {
    throw new RealtimeError('BAD_REQUEST', `expiresInMs must be between 0 and ${maxTimerDelayMs}`);
  }
  const data = {
    actionId,
    action: request.action,
    approvers,
    ...(request.quorum !== undefined && request.quorum > 1 && { quorum: request.quorum }),
    expiresAt: new Date(now.getTime() + expiresInMs),
    ...(request.description !== undefined && { description: request.description }),
    ...(request.agentId !== undefined && { agentId: request.agentId }),
    ...(request.details !== undefined && { details: request.details }),
  };
  try {
    return { data, parsed: parseEventData('governance.required', data) };
  } catch (error) {
    throw toValidationError('governance.required', error);
  }
}
