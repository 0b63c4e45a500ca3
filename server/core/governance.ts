/**
 * Governance before execution: an action that needs approval is created pending, is decided
 * once (approved or rejected, by a named approver or an admin, with decider and reason kept), or
 * expires on time by the server's own timer. `requireApproval` lets agent code wait for the
 * decision, so it cannot execute before one.
 */
import { randomUUID } from 'node:crypto';
import type { EventDataInput, GovernanceEventType, RealtimeEvent } from '../../shared/events.js';
import { parseEventData } from '../../shared/events.js';
import { channels } from './channels.js';
import { RealtimeError } from './errors.js';
import type { RealtimeCore } from './realtime-core.js';
import { toValidationError } from './validation.js';

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
  createdAt: Date;
  expiresAt: Date;
  status: GovernanceStatus;
  decidedBy?: string;
  reason?: string;
  decidedAt?: Date;
}

export interface ApprovalRequest {
  actionId?: string;
  action: string;
  description?: string;
  agentId?: string;
  details?: EventDataInput<'governance.required'>['details'];
  /** Users who may decide; admins always may. */
  approvers: string[];
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

interface Waiter {
  resolve: (action: GovernanceAction) => void;
  reject: (error: unknown) => void;
}

interface Entry {
  state: GovernanceAction;
  timer?: NodeJS.Timeout;
  waiters: Set<Waiter>;
}

/** setTimeout fires at once past this delay (a signed 32-bit number of milliseconds). */
const maxTimerDelayMs = 2 ** 31 - 1;

/**
 * Makes each action's outcome (a decision or the expiry) happen once even when several processes
 * race for it: the first claim wins. In one process a set; with Redis, `SET NX`.
 */
export interface DecisionClaims {
  claim(actionId: string): Promise<boolean>;
}

/** The embedded claims: remembered for a bounded number of actions. */
export class MemoryDecisionClaims implements DecisionClaims {
  private readonly claimed = new Set<string>();
  constructor(private readonly max = 100_000) {}
  async claim(actionId: string): Promise<boolean> {
    if (this.claimed.has(actionId)) return false;
    this.claimed.add(actionId);
    if (this.claimed.size > this.max) this.claimed.delete(this.claimed.values().next().value!);
    return true;
  }
}

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
  private stopped = false;
  private readonly claims: DecisionClaims;

  constructor(
    private readonly core: RealtimeCore,
    private readonly options: GovernanceOptions = {},
  ) {
    this.claims = options.claims ?? new MemoryDecisionClaims();
  }

  /** Creates a pending action and emits `governance.required` to its approvers. */
  async request(request: ApprovalRequest): Promise<GovernanceAction> {
    if (this.stopped) throw this.stoppedError('a new action');
    const actionId = request.actionId ?? randomUUID();
    if (this.actions.has(actionId)) throw new RealtimeError('CONFLICT', `Action ${actionId} already exists`);
    const approvers = [...new Set(request.approvers)];
    if (approvers.length === 0) throw new RealtimeError('BAD_REQUEST', 'An action needs at least one approver');
    const expiresInMs = request.expiresInMs ?? this.options.defaultExpiresInMs ?? 300_000;
    if (!Number.isFinite(expiresInMs) || expiresInMs < 0 || expiresInMs > maxTimerDelayMs) {
      throw new RealtimeError('BAD_REQUEST', `expiresInMs must be between 0 and ${maxTimerDelayMs}`);
    }
    const now = Date.now();
    const expiresAt = new Date(now + expiresInMs);
    const data = {
      actionId,
      action: request.action,
      approvers,
      expiresAt,
      ...(request.description !== undefined && { description: request.description }),
      ...(request.agentId !== undefined && { agentId: request.agentId }),
      ...(request.details !== undefined && { details: request.details }),
    };
    try {
      parseEventData('governance.required', data);
    } catch (error) {
      throw toValidationError('governance.required', error);
    }
    const state: GovernanceAction = {
      ...data,
      requesterId: request.requesterId,
      createdAt: new Date(now),
      status: 'pending',
    };
    const entry: Entry = { state, waiters: new Set() };
    this.actions.set(actionId, entry);
    this.forgetOldActions();
    entry.timer = setTimeout(() => this.expire(actionId), Math.max(0, expiresAt.getTime() - now));
    entry.timer.unref();
    const required = await this.publish('governance.required', state, data, request.requesterId);
    state.eventId = required.id;
    return { ...state };
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
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        entry.waiters.delete(waiter);
        reject(signal?.reason ?? new RealtimeError('PRECONDITION_FAILED', 'Aborted'));
      };
      const waiter: Waiter = {
        resolve: (action) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(action);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      entry.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Decides a pending action once. Only its approvers or an admin may. */
  async decide(actionId: string, decision: 'approved' | 'rejected', by: Decider, reason?: string): Promise<GovernanceAction> {
    const entry = this.actions.get(actionId);
    if (!entry) throw new RealtimeError('NOT_FOUND', `No action ${actionId}`);
    const { state } = entry;
    if (!by.isAdmin && !state.approvers.includes(by.userId)) {
      throw new RealtimeError('FORBIDDEN', `${by.userId} is not an approver of ${actionId}`);
    }
    if (state.status !== 'pending') {
      throw new RealtimeError('CONFLICT', `Action ${actionId} is already ${state.status}`);
    }
    if (!(await this.claims.claim(actionId))) {
      // Another process decided (or expired) it first; its event is on the way.
      throw new RealtimeError('CONFLICT', `Action ${actionId} is already decided`);
    }
    if (state.status !== 'pending') throw new RealtimeError('CONFLICT', `Action ${actionId} is already ${state.status}`);
    state.status = decision;
    state.decidedBy = by.userId;
    state.decidedAt = new Date();
    if (reason !== undefined) state.reason = reason;
    this.settle(entry);
    const type = decision === 'approved' ? 'governance.approved' : 'governance.rejected';
    await this.publish(type, state, { actionId, decidedBy: by.userId, ...(reason !== undefined && { reason }) }, by.userId);
    return { ...state };
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

  get(actionId: string): GovernanceAction | undefined {
    const entry = this.actions.get(actionId);
    return entry && { ...entry.state };
  }

  /** Pending actions the user may decide (all of them for an admin). */
  pendingFor(by: Decider): GovernanceAction[] {
    return [...this.actions.values()]
      .filter(({ state }) => state.status === 'pending' && (by.isAdmin || state.approvers.includes(by.userId)))
      .map(({ state }) => ({ ...state }));
  }

  /** Stops every expiry timer; whoever still waits is told the service stopped. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.actions.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      for (const waiter of entry.waiters) waiter.reject(this.stoppedError(entry.state.actionId));
      entry.waiters.clear();
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
    entry.state.status = 'expired';
    entry.state.decidedAt = new Date();
    this.settle(entry);
    this.publish('governance.expired', entry.state, { actionId, expiredAt: entry.state.decidedAt }, undefined).catch(
      (error: unknown) => (this.options.onError ?? console.error)(error, `publishing governance.expired for ${actionId}`),
    );
  }

  /**
   * Folds a governance event published by any process: an action requested elsewhere becomes
   * known here (with its own expiry timer), and a decision or expiry made elsewhere settles it,
   * waking whoever waits for it on this process. This process's own events change nothing more.
   */
  observe(event: RealtimeEvent): void {
    if (!event.type.startsWith('governance.')) return;
    const data = event.data as { actionId: string } & Record<string, unknown>;
    const entry = this.actions.get(data.actionId);
    switch (event.type) {
      case 'governance.required': {
        if (entry || this.stopped) return;
        const approvers = (data.approvers as string[] | undefined) ?? (event.userId ? [event.userId] : []);
        const expiresAt = (data.expiresAt as Date | undefined) ?? new Date(event.timestamp.getTime() + (this.options.defaultExpiresInMs ?? 300_000));
        const state: GovernanceAction = {
          actionId: data.actionId,
          eventId: event.id,
          action: data.action as string,
          approvers,
          expiresAt,
          requesterId: event.senderId ?? 'system',
          createdAt: event.timestamp,
          status: 'pending',
          ...(typeof data.description === 'string' && { description: data.description }),
          ...(typeof data.agentId === 'string' && { agentId: data.agentId }),
          ...(data.details !== undefined && { details: data.details }),
        };
        const created: Entry = { state, waiters: new Set() };
        this.actions.set(data.actionId, created);
        this.forgetOldActions();
        created.timer = setTimeout(() => this.expire(data.actionId), Math.min(maxTimerDelayMs, Math.max(0, expiresAt.getTime() - Date.now())));
        created.timer.unref();
        return;
      }
      case 'governance.approved':
      case 'governance.rejected':
      case 'governance.expired': {
        if (!entry || entry.state.status !== 'pending') return;
        entry.state.status = event.type === 'governance.approved' ? 'approved' : event.type === 'governance.rejected' ? 'rejected' : 'expired';
        entry.state.decidedAt = event.timestamp;
        if (typeof data.decidedBy === 'string') entry.state.decidedBy = data.decidedBy;
        if (typeof data.reason === 'string') entry.state.reason = data.reason;
        this.settle(entry);
        return;
      }
      default:
        return;
    }
  }

  private settle(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const snapshot = { ...entry.state };
    for (const waiter of entry.waiters) waiter.resolve(snapshot);
    entry.waiters.clear();
  }

  private publish<T extends GovernanceEventType>(
    type: T,
    action: GovernanceAction,
    data: EventDataInput<T>,
    senderId: string | undefined,
  ): Promise<RealtimeEvent<T>> {
    const recipients = new Set([...action.approvers, action.requesterId]);
    return this.core.publish(type, data, [...[...recipients].map(channels.user), channels.governance], {
      userId: action.approvers[0]!,
      ...(senderId !== undefined && { senderId }),
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
