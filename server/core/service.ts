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
  /** Where idempotency keys are remembered. @default an in-process store with a 5-minute window */
  idempotency?: IdempotencyStore;
  /** Who decided or expired an action first, across processes. @default in this process */
  decisionClaims?: DecisionClaims;
}

export interface RealtimeServices {
  core: RealtimeCore;
  agents: AgentService;
  governance: GovernanceService;
  idempotency: IdempotencyStore;
  bus: EventBus;
  /** The seed's `emit_agent_event`: publishes an agent event for `userId`'s agent, checking its lifecycle. */
  emitAgentEvent<T extends AgentEventType>(agentId: string, type: T, userId: string, data: AgentEventData<T>): Promise<RealtimeEvent<T>>;
  /** The seed's `emit_governance_event`: drives the action's workflow (require, decide, expire) and emits its event. */
  emitGovernanceEvent<T extends GovernanceEventType>(
    actionId: string,
    type: T,
    userId: string,
    data: Omit<EventDataInput<T>, 'actionId'>,
  ): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createRealtimeServices(options: RealtimeServicesOptions): RealtimeServices {
  const core = new RealtimeCore(options);
  const agents = new AgentService(core);
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
    async emitGovernanceEvent(actionId, type, userId, data) {
      const fields = data as Record<string, unknown>;
      switch (type) {
        case 'governance.required': {
          const expiresAt = fields.expiresAt === undefined ? undefined : new Date(fields.expiresAt as string | Date);
          await governance.request({
            actionId,
            action: String(fields.action ?? ''),
            approvers: (fields.approvers as string[] | undefined) ?? [userId],
            requesterId: userId,
            ...(typeof fields.description === 'string' && { description: fields.description }),
            ...(typeof fields.agentId === 'string' && { agentId: fields.agentId }),
            ...(fields.details !== undefined && { details: fields.details as never }),
            ...(expiresAt && { expiresInMs: expiresAt.getTime() - Date.now() }),
          });
          return;
        }
        case 'governance.approved':
        case 'governance.rejected': {
          const decidedBy = typeof fields.decidedBy === 'string' ? fields.decidedBy : userId;
          const reason = typeof fields.reason === 'string' ? fields.reason : undefined;
          await governance.decide(actionId, type === 'governance.approved' ? 'approved' : 'rejected', trusted(decidedBy), reason);
          return;
        }
        default:
          throw new RealtimeError('BAD_REQUEST', `${type} is emitted by the governance workflow itself`);
      }
    },
    start: () => core.start(),
    async stop() {
      governance.stop();
      await core.stop();
      await options.bus.close();
    },
  };
}
