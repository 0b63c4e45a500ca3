/**
 * The service container: one bus, one core, and the agent and governance workflows over it,
 * plus the seed's helper functions as typed server API.
 */
import type { AgentEventType, EventDataInput, GovernanceEventType, RealtimeEvent } from '../../shared/events.js';
import type { EventBus } from '../bus/bus.js';
import { AgentService, type AgentEventData } from './agents.js';
import { GovernanceService, type DecisionClaims } from './governance.js';
import { RealtimeCore, type RealtimeCoreOptions } from './realtime-core.js';
import { RealtimeError } from './errors.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from './idempotency.js';

export interface RealtimeServicesOptions extends RealtimeCoreOptions {
  governanceExpiresInMs?: number;
  /** UTF-8 bytes of one agent run's output text. @default 1 MiB */
  agentOutputMaxBytes?: number;
  /** Where idempotency keys are remembered. @default an in-process store with a 5-minute window */
  idempotency?: IdempotencyStore;
  /** Who decided or expired an action first, across processes. @default in this process */
  decisionClaims?: DecisionClaims;
}

/**
 * What `emitGovernanceEvent` takes after the action id, one tuple per type, so that checking
 * `type` narrows `data` (a generic `T` would not).
 */
export type GovernanceEmission = {
  [K in GovernanceEventType]: [type: K, userId: string, data: Omit<EventDataInput<K>, 'actionId'>];
}[GovernanceEventType];

export interface RealtimeServices {
  core: RealtimeCore;
  agents: AgentService;
  governance: GovernanceService;
  idempotency: IdempotencyStore;
  bus: EventBus;
  /** The seed's `emit_agent_event`: publishes an agent event for `userId`'s agent, checking its lifecycle. */
  emitAgentEvent<T extends AgentEventType>(agentId: string, type: T, userId: string, data: AgentEventData<T>): Promise<RealtimeEvent<T>>;
  /** The seed's `emit_governance_event`: drives the action's workflow (require, decide, expire) and emits its event. */
  emitGovernanceEvent(actionId: string, ...emission: GovernanceEmission): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createRealtimeServices(options: RealtimeServicesOptions): RealtimeServices {
  const core = new RealtimeCore(options);
  const agents = new AgentService(core, options.agentOutputMaxBytes === undefined ? {} : { maxOutputBytes: options.agentOutputMaxBytes });
  const governance = new GovernanceService(core, {
    ...(options.governanceExpiresInMs !== undefined && { defaultExpiresInMs: options.governanceExpiresInMs }),
    ...(options.onError && { onError: options.onError }),
    ...(options.decisionClaims && { claims: options.decisionClaims }),
  });
  // Every process folds every workflow event, so runs and actions are known wherever a call lands.
  core.observe((event) => {
    agents.observe(event);
    governance.observe(event);
  });
  const trusted = (userId: string) => ({ userId, isAdmin: true });

  return {
    core,
    agents,
    governance,
    idempotency: options.idempotency ?? new MemoryIdempotencyStore(),
    bus: options.bus,
    emitAgentEvent: (agentId, type, userId, data) => agents.emit(agentId, type, userId, data),
    async emitGovernanceEvent(actionId, ...[type, userId, data]) {
      switch (type) {
        case 'governance.required': {
          const expiresAt = data.expiresAt === undefined ? undefined : toDate(data.expiresAt);
          await governance.request({
            actionId,
            action: data.action,
            approvers: data.approvers ?? [userId],
            requesterId: userId,
            ...(data.description !== undefined && { description: data.description }),
            ...(data.agentId !== undefined && { agentId: data.agentId }),
            ...(data.details !== undefined && { details: data.details }),
            ...(expiresAt && { expiresInMs: expiresAt.getTime() - Date.now() }),
          });
          return;
        }
        case 'governance.approved':
        case 'governance.rejected': {
          // The seed's callers may leave the decider out: it is then the user named.
          const decidedBy = data.decidedBy ?? userId;
          await governance.decide(actionId, type === 'governance.approved' ? 'approved' : 'rejected', trusted(decidedBy), data.reason);
          return;
        }
        default:
          throw new RealtimeError('BAD_REQUEST', `${type} is emitted by the governance workflow itself`);
      }
    },
    // The store first: its migrations must have run before the first event is recorded.
    async start() {
      await core.store.start();
      // Approvals pending when the service last stopped wait again (their expiry, their deciders).
      governance.restore(await core.store.pendingActions(10_000));
      await core.start();
    },
    async stop() {
      governance.stop();
      await core.stop();
      await options.bus.close();
      await core.store.stop();
    },
  };
}

/** `expiresAt` as the catalog accepts it (a Date, or what `new Date` reads); anything else is an invalid date. */
function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === 'string' || typeof value === 'number' ? value : Number.NaN);
}
