/**
 * A starting payload for every type the publish form offers, so an operator edits a valid
 * example instead of guessing the schema. Typed against the catalog: when a schema changes, the
 * compiler points here.
 */
import type { EventDataInput, EventType } from '../../../shared/events.js';

type Examples = { [K in EventType]?: EventDataInput<K> };

const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

export function exampleData(type: EventType): unknown {
  const examples: Examples = {
    ping: { nonce: 'operator-check' },
    pong: { nonce: 'operator-check' },
    'agent.started': { agentId: 'agent-1', task: 'Summarise the quarterly report' },
    'agent.thinking': { agentId: 'agent-1', step: 'reading', thought: 'Looking for the revenue table' },
    'agent.progress': { agentId: 'agent-1', progress: 50, step: 'drafting' },
    'agent.complete': { agentId: 'agent-1', result: { summary: 'Revenue grew 12%' } },
    'agent.error': { agentId: 'agent-1', error: 'Source document not found', retryable: true },
    'agent.cancelled': { agentId: 'agent-1', reason: 'Superseded by a newer run' },
    'governance.required': { actionId: 'action-1', action: 'deploy.production', description: 'Release 1.4.0' },
    'governance.pending': { actionId: 'action-1', action: 'deploy.production' },
    'governance.approved': { actionId: 'action-1', decidedBy: 'admin' },
    'governance.rejected': { actionId: 'action-1', decidedBy: 'admin', reason: 'Freeze week' },
    'governance.expired': { actionId: 'action-1' },
    'sphere.updated': { sphereId: 'sphere-1', changed: ['name'] },
    'sphere.member_joined': { sphereId: 'sphere-1', userId: 'alice' },
    'sphere.member_left': { sphereId: 'sphere-1', userId: 'alice' },
    'notification.new': { title: 'Heads up', message: 'The nightly import finished.', level: 'info' },
    'notification.read': { notificationId: 'event-id' },
    'system.maintenance': { message: 'Maintenance window tonight', startsAt: inOneHour(), durationMinutes: 30 },
  };
  return examples[type] ?? {};
}
