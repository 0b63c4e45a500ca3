/**
 * Governance before execution: an action that needs approval is created pending, is decided
 * once (approved or rejected, by a named approver or an admin, with decider and reason kept), or
 * expires on time by the server's own timer. `requireApproval` lets agent code wait for the
 * decision, so it cannot execute before one.
 *
 * What an event does to an action is the shared fold (shared/folds/governance-actions.ts), which
 * every process and the React hook use; this file keeps the checks before a publish, the claim
 * that makes one process publish each outcome, the expiry timers and whoever waits.
 */
import { randomUUID } from 'node:crypto';
import type { EventDataInput, GovernanceEventType, RealtimeEvent } from '../../shared/events.js';
import {
  foldGovernanceAction,
  hasQuorum,
  type GovernanceAction,
  type GovernanceActionEvent,
  type GovernanceFoldOptions,
  type GovernanceStatus,
} from '../../shared/folds/governance-actions.js';
import { channels } from './channels.js';
import { MemoryDecisionClaims, type DecisionClaims } from './decision-claims.js';
import { DecisionWaiters } from './decision-waiters.js';
import { ApprovalDeniedError, maxTimerDelayMs, requiredEventData, type ApprovalRequest, type Decider, type RequireApprovalOptions } from './approval-requests.js';
import { RealtimeError } from './errors.js';
import { pageDecidedActions, type DecidedPage } from './governance-history.js';
import type { RealtimeCore } from './realtime-core.js';

export type { GovernanceAction, GovernanceStatus, DecisionClaims, ApprovalRequest, Decider, RequireApprovalOptions };
export { MemoryDecisionClaims, ApprovalDeniedError };

interface Entry {
  state: GovernanceAction;
  /** Order in which this process settled it (history: decisions within one millisecond). */
  settledOrder?: number;
  timer?: NodeJS.Timeout;
  waiters: DecisionWaiters;
}

const withApproval = (approvals: readonly string[], userId: string) => [...new Set([...approvals, userId])];

export interface GovernanceOptions {
  /** @default 300000 */
  defaultExpiresInMs?: number;
  /** @default MemoryDecisionClaims */
  claims?: DecisionClaims;
  /** Actions remembered; the oldest decided are forgotten past it. @default 10000 */
  maxActions?: number;
  onError?: (error: unknown, context: string) => void;
}

export class GovernanceService {
  private readonly actions = new Map<string, Entry>();
  private settledCount = 0;
  private stopped = false;
  private readonly claims: DecisionClaims;
  private readonly foldOptions: GovernanceFoldOptions;

  constructor(
    private readonly core: RealtimeCore,
    private readonly options: GovernanceOptions = {},
  ) {
    this.claims = options.claims ?? new MemoryDecisionClaims();
    this.foldOptions = options.defaultExpiresInMs === undefined ? {} : { defaultExpiresInMs: options.defaultExpiresInMs };
  }

  /** Creates a pending action and emits `governance.required` to its approvers. */
  async request(request: ApprovalRequest): Promise<GovernanceAction> {
    if (this.stopped) throw this.stoppedError('a new action');
    const actionId = request.actionId ?? randomUUID();
    if (this.actions.has(actionId)) throw new RealtimeError('CONFLICT', `Action ${actionId} already exists`);
    const now = new Date();
    const { data, parsed } = requiredEventData(request, actionId, this.options.defaultExpiresInMs ?? 300_000, now);
    const draft = { type: 'governance.required', data: parsed, timestamp: now, senderId: request.requesterId } as const;
    const entry = this.track(foldGovernanceAction(undefined, draft, this.foldOptions));
    const required = await this.publish('governance.required', entry.state, data, request.requesterId);
    entry.state = { ...entry.state, eventId: required.id };
    return { ...entry.state };
  }

  /**
   * Requests approval and waits for the decision, so agent code cannot execute before one:
   * resolves with the action when approved; rejects with an ApprovalDeniedError when rejected or
   * expired, and with the signal's reason when aborted (the action is then withdrawn).
   *
   * @example
   * const signal = services.agents.signal(agentId);
   * await services.governance.requireApproval('delete_project', { approvers: ['alice'], expiresInMs: 60_000, agentId, signal });
   */
  requireApproval(action: string, options: RequireApprovalOptions): Promise<GovernanceAction>;
  requireApproval(request: ApprovalRequest, options?: { signal?: AbortSignal }): Promise<GovernanceAction>;
  async requireApproval(
    actionOrRequest: string | ApprovalRequest,
    options: RequireApprovalOptions | { signal?: AbortSignal } = {},
  ): Promise<GovernanceAction> {
    const { signal, ...rest } = options as RequireApprovalOptions;
    const request: ApprovalRequest =
      typeof actionOrRequest === 'string' ? { ...rest, action: actionOrRequest, requesterId: rest.requesterId ?? 'system' } : actionOrRequest;
    signal?.throwIfAborted();
    const created = await this.request(request);
    let decided: GovernanceAction;
    try {
      decided = await this.waitForDecision(created.actionId, signal);
    } catch (error) {
      if (signal?.aborted) this.withdrawQuietly(created.actionId, request.requesterId);
      throw error;
    }
    if (decided.status === 'approved') return decided;
    throw new ApprovalDeniedError(decided);
  }

  /** Resolves with the action once it is decided or expired; rejects when `signal` aborts first. */
  waitForDecision(actionId: string, signal?: AbortSignal): Promise<GovernanceAction> {
    const entry = this.actions.get(actionId);
    if (!entry) return Promise.reject(new RealtimeError('NOT_FOUND', `No action ${actionId}`));
    if (entry.state.status !== 'pending') return Promise.resolve({ ...entry.state });
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.stopped) return Promise.reject(this.stoppedError(actionId));
    return entry.waiters.wait(signal);
  }

  /**
   * Decides a pending action once. Only its approvers or an admin may. An approval short of the
   * quorum publishes `governance.pending` (who approved so far); one rejection rejects.
   */
  async decide(actionId: string, decision: 'approved' | 'rejected', by: Decider, reason?: string): Promise<GovernanceAction> {
    const entry = this.actions.get(actionId);
    if (!entry) throw new RealtimeError('NOT_FOUND', `No action ${actionId}`);
    if (!by.isAdmin && !entry.state.approvers.includes(by.userId)) {
      throw new RealtimeError('FORBIDDEN', `${by.userId} is not an approver of ${actionId}`);
    }
    if (entry.state.status !== 'pending') {
      throw new RealtimeError('CONFLICT', `Action ${actionId} is already ${entry.state.status}`);
    }
    if (decision === 'approved') {
      if (entry.state.approvals.includes(by.userId)) throw new RealtimeError('CONFLICT', `${by.userId} already approved ${actionId}`);
      const { action, quorum } = entry.state;
      const approvals = [...entry.state.approvals, by.userId];
      if (approvals.length < quorum) {
        const data = { actionId, action, approvals, quorum };
        const counted = this.fold(entry, { type: 'governance.pending', data, timestamp: new Date() });
        await this.publish('governance.pending', counted, data, by.userId);
        return { ...counted };
      }
    }
    return this.decideOnce(entry, decision, by, reason);
  }

  private async decideOnce(entry: Entry, decision: 'approved' | 'rejected', by: Decider, reason?: string): Promise<GovernanceAction> {
    const { actionId } = entry.state;
    if (!(await this.claims.claim(actionId))) {
      // Another process decided (or expired) it first; its event is on the way.
      throw new RealtimeError('CONFLICT', `Action ${actionId} is already decided`);
    }
    if (entry.state.status !== 'pending') throw new RealtimeError('CONFLICT', `Action ${actionId} is already ${entry.state.status}`);
    const timestamp = new Date();
    const data = { actionId, decidedBy: by.userId, ...(reason !== undefined && { reason }) };
    const decided =
      decision === 'approved'
        ? this.fold(entry, { type: 'governance.approved', data: { ...data, approvedBy: withApproval(entry.state.approvals, by.userId) }, timestamp })
        : this.fold(entry, { type: 'governance.rejected', data, timestamp });
    const { approvals } = decided;
    await (decision === 'approved'
      ? this.publish('governance.approved', decided, { ...data, approvedBy: approvals }, by.userId)
      : this.publish('governance.rejected', decided, data, by.userId));
    return { ...decided };
  }

  /**
   * The requester (or an admin) takes a pending action back: it ends rejected by the requester
   * with reason `withdrawn`, so approvers stop seeing it and nothing waits on it.
   */
  async withdraw(actionId: string, by: Decider, reason?: string): Promise<GovernanceAction> {
    const entry = this.actions.get(actionId);
    if (!entry) throw new RealtimeError('NOT_FOUND', `No action ${actionId}`);
    if (!by.isAdmin && entry.state.requesterId !== by.userId) {
      throw new RealtimeError('FORBIDDEN', `Only the requester of ${actionId} or an admin may withdraw it`);
    }
    return this.decide(actionId, 'rejected', { userId: by.userId, isAdmin: true }, reason === undefined ? 'withdrawn' : `withdrawn: ${reason}`);
  }

  /**
   * Takes up actions a previous run of the service left pending (from the durable store): each
   * expires on time and may be decided, as if requested here. Known actions are left alone.
   */
  restore(pending: readonly GovernanceAction[]): void {
    for (const action of pending) if (!this.actions.has(action.actionId) && !this.stopped) this.track({ ...action });
  }

  get(actionId: string): GovernanceAction | undefined {
    const entry = this.actions.get(actionId);
    return entry && { ...entry.state };
  }

  /** Pending actions the user may decide (all of them for an admin), but not those they already approved. */
  pendingFor(by: Decider): GovernanceAction[] {
    return [...this.actions.values()]
      .filter(({ state }) => state.status === 'pending' && (by.isAdmin || state.approvers.includes(by.userId)) && !state.approvals.includes(by.userId))
      .map(({ state }) => ({ ...state }));
  }

  /** Decided actions the user requested or could approve (all of them for an admin), newest first. */
  history(by: Decider, page: { limit: number; cursor?: string }): DecidedPage {
    const settled = [...this.actions.values()]
      .filter((entry) => entry.settledOrder !== undefined)
      .filter(({ state }) => by.isAdmin || state.requesterId === by.userId || state.approvers.includes(by.userId))
      .sort((a, b) => a.settledOrder! - b.settledOrder!);
    return pageDecidedActions(
      settled.map(({ state }) => state),
      page,
    );
  }

  /** Stops every expiry timer; whoever still waits is told the service stopped. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.actions.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.waiters.rejectAll(this.stoppedError(entry.state.actionId));
    }
  }

  private stoppedError(what: string): RealtimeError {
    return new RealtimeError('SERVICE_UNAVAILABLE', `The governance service stopped before ${what} was decided`);
  }

  private withdrawQuietly(actionId: string, requesterId: string): void {
    if (this.actions.get(actionId)?.state.status !== 'pending') return;
    this.withdraw(actionId, { userId: requesterId, isAdmin: true }).catch((error: unknown) =>
      (this.options.onError ?? console.error)(error, `withdrawing ${actionId}`),
    );
  }

  private expire(actionId: string): void {
    const entry = this.actions.get(actionId);
    if (!entry || entry.state.status !== 'pending') return;
    // Every process holding the action has this timer; only the one that claims it publishes.
    this.claims.claim(actionId).then(
      (won) => {
        if (won) this.expireNow(entry);
      },
      (error: unknown) => (this.options.onError ?? console.error)(error, `claiming the expiry of ${actionId}`),
    );
  }

  private expireNow(entry: Entry): void {
    const { actionId } = entry.state;
    if (entry.state.status !== 'pending') return;
    const now = new Date();
    const data = { actionId, expiredAt: now };
    const expired = this.fold(entry, { type: 'governance.expired', data, timestamp: now });
    this.publish('governance.expired', expired, data, undefined).catch((error: unknown) =>
      (this.options.onError ?? console.error)(error, `publishing governance.expired for ${actionId}`),
    );
  }

  /**
   * Folds a governance event published by any process: an action requested elsewhere becomes
   * known here (with its own expiry timer), and a decision or expiry made elsewhere settles it,
   * waking whoever waits for it on this process. This process's own events change nothing more.
   */
  observe(event: RealtimeEvent): void {
    switch (event.type) {
      case 'governance.required':
        if (!this.actions.has(event.data.actionId) && !this.stopped) this.track(foldGovernanceAction(undefined, event, this.foldOptions));
        return;
      case 'governance.pending': {
        // Approvals counted on two processes at once may add up to the quorum only here.
        const entry = this.actions.get(event.data.actionId);
        if (!entry || !hasQuorum(this.fold(entry, event))) return;
        const last = entry.state.approvals[entry.state.approvals.length - 1]!;
        this.decideOnce(entry, 'approved', { userId: last, isAdmin: true }).catch((error: unknown) => {
          if (!(error instanceof RealtimeError && error.code === 'CONFLICT')) (this.options.onError ?? console.error)(error, `completing the quorum of ${entry.state.actionId}`);
        });
        return;
      }
      case 'governance.approved':
      case 'governance.rejected':
      case 'governance.expired': {
        const entry = this.actions.get(event.data.actionId);
        if (entry) this.fold(entry, event);
        return;
      }
      default:
        return;
    }
  }

  /** Remembers a new action and starts its expiry timer. */
  private track(state: GovernanceAction): Entry {
    const entry: Entry = { state, waiters: new DecisionWaiters() };
    this.actions.set(state.actionId, entry);
    this.forgetOldActions();
    entry.timer = setTimeout(() => this.expire(state.actionId), Math.min(maxTimerDelayMs, Math.max(0, state.expiresAt.getTime() - Date.now())));
    entry.timer.unref();
    return entry;
  }

  /** Folds an event (published, or a draft this process is about to publish) into a known action. */
  private fold(entry: Entry, event: GovernanceActionEvent): GovernanceAction {
    const before = entry.state;
    entry.state = foldGovernanceAction(before, event, this.foldOptions);
    if (before.status === 'pending' && entry.state.status !== 'pending') this.settle(entry);
    return entry.state;
  }

  private settle(entry: Entry): void {
    entry.settledOrder = ++this.settledCount;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.waiters.resolveAll(entry.state);
  }

  private publish<T extends GovernanceEventType>(
    type: T,
    action: GovernanceAction,
    data: EventDataInput<T>,
    senderId: string | undefined,
  ): Promise<RealtimeEvent<T>> {
    const recipients = new Set([...action.approvers, action.requesterId]);
    const published = this.core.publish(type, data, [...[...recipients].map(channels.user), channels.governance], {
      userId: action.approvers[0]!,
      ...(senderId !== undefined && { senderId }),
    });
    // The audit trail: the state this event gave the action, written by the process that published it.
    return published.then((event) => {
      this.core.store.recordAction(type === 'governance.required' ? { ...action, eventId: event.id } : action);
      return event;
    });
  }

  private forgetOldActions(): void {
    const max = this.options.maxActions ?? 10_000;
    if (this.actions.size <= max) return;
    for (const [actionId, entry] of this.actions) {
      if (this.actions.size <= max) break;
      if (entry.state.status !== 'pending') this.actions.delete(actionId);
    }
  }
}
