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
    'sphere.updated': { sphereId: 'sphere-1', changed: ['name'] },
    'sphere.member_joined': { sphereId: 'sphere-1', userId: 'alice' },
    'sphere.member_left': { sphereId: 'sphere-1', userId: 'alice' },
    'notification.new': { title: 'Heads up', message: 'The nightly import finished.', level: 'info' },
    'notification.read': { notificationId: 'event-id' },
    'system.maintenance': { message: 'Maintenance window tonight', startsAt: inOneHour(), durationMinutes: 30 },
  };
  return examples[type] ?? {};
}
