/**
 * The one fold of a governance action: `governance.required` creates it pending, and the first of
 * `governance.approved`, `governance.rejected` or `governance.expired` settles it for good. Every
 * process of the service folds the events with it (so an action requested or decided on one is
 * known on all), and the `useGovernanceEvents` hook folds its pending list with it. Who may decide,
 * and that only one process publishes the decision, are the service's checks
 * (server/core/governance.ts), made before the event exists.
 *
 * Pure: no clock, no timers, no mutation of its inputs.
 */
import type { GovernanceEventType } from '../events.js';
import type { FoldEvent } from './fold-event.js';

export type GovernanceStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface GovernanceAction {
  actionId: string;
  /** The id of the action's `governance.required` event (the seed's `action.eventId`); set once it is published. */
  eventId?: string;
  action: string;
  description?: string;
  agentId?: string;
  details?: unknown;
  requesterId: string;
  approvers: string[];
  /** How many approvals decide it (1 unless the request said more). */
  quorum: number;
  /** Who has approved so far, in order (on an approved action: everyone whose approval counted). */
  approvals: string[];
  createdAt: Date;
  expiresAt: Date;
  status: GovernanceStatus;
  decidedBy?: string;
  reason?: string;
  decidedAt?: Date;
}

/** What the governance fold reads of an event (fold-event.ts). */
export type GovernanceActionEvent<T extends GovernanceEventType = GovernanceEventType> = FoldEvent<T>;

export interface GovernanceFoldOptions {
  /** When a `governance.required` names no `expiresAt`, it expires this long after its timestamp. @default 300000 */
  defaultExpiresInMs?: number;
}

/**
 * Folds one event into the action it names. Returns the same object (or undefined) when the event
 * changes nothing: a second `governance.required` of a known action, a decision of an action
 * unknown here or already settled (decided once: the first decision wins), a `governance.pending`
 * that adds no approval. One rejection rejects; approvals count up to the quorum.
 */
export function foldGovernanceAction(
  action: undefined,
  event: GovernanceActionEvent<'governance.required'>,
  options?: GovernanceFoldOptions,
): GovernanceAction;
export function foldGovernanceAction(action: GovernanceAction, event: GovernanceActionEvent, options?: GovernanceFoldOptions): GovernanceAction;
export function foldGovernanceAction(
  action: GovernanceAction | undefined,
  event: GovernanceActionEvent,
  options?: GovernanceFoldOptions,
): GovernanceAction | undefined;
export function foldGovernanceAction(
  action: GovernanceAction | undefined,
  event: GovernanceActionEvent,
  options: GovernanceFoldOptions = {},
): GovernanceAction | undefined {
  switch (event.type) {
    case 'governance.required': {
      if (action) return action;
      const { data } = event;
      return {
        actionId: data.actionId,
        ...(event.id !== undefined && { eventId: event.id }),
        action: data.action,
        // A request names its approvers; the seed's events without them are addressed to one user.
        approvers: data.approvers ?? (event.userId !== undefined ? [event.userId] : []),
        quorum: data.quorum ?? 1,
        approvals: [],
        expiresAt: data.expiresAt ?? new Date(event.timestamp.getTime() + (options.defaultExpiresInMs ?? 300_000)),
        requesterId: event.senderId ?? 'system',
        createdAt: event.timestamp,
        status: 'pending',
        ...(data.description !== undefined && { description: data.description }),
        ...(data.agentId !== undefined && { agentId: data.agentId }),
        ...(data.details !== undefined && { details: data.details }),
      };
    }
    case 'governance.approved':
    case 'governance.rejected': {
      if (action?.status !== 'pending') return action;
      const { decidedBy, reason } = event.data;
      const decided = { ...action, decidedBy, decidedAt: event.timestamp, ...(reason !== undefined && { reason }) };
      if (event.type === 'governance.rejected') return { ...decided, status: 'rejected' };
      return { ...decided, status: 'approved', approvals: event.data.approvedBy ?? withApprovals(action.approvals, [decidedBy]) };
    }
    case 'governance.expired':
      if (action?.status !== 'pending') return action;
      return { ...action, status: 'expired', decidedAt: event.timestamp };
    case 'governance.pending': {
      // Approvals only add up (two processes may each publish a partial count): the union.
      if (action?.status !== 'pending') return action;
      const approvals = withApprovals(action.approvals, event.data.approvals ?? []);
      return approvals.length === action.approvals.length ? action : { ...action, approvals };
    }
  }
}

function withApprovals(known: readonly string[], more: readonly string[]): string[] {
  return [...new Set([...known, ...more])];
}

/** Whether a pending action has the approvals it needs (another process's count may complete it). */
export function hasQuorum(action: GovernanceAction): boolean {
  return action.status === 'pending' && action.approvals.length >= action.quorum;
}

/** Whether the action waits for a decision: a settled one never goes back. */
export function isPendingAction(action: GovernanceAction | undefined): boolean {
  return action?.status === 'pending';
}
