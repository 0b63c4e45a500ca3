import { describe, expect, it } from 'vitest';
import { eventSchemas, eventTypes, parseEventData, safeParseEventData, serverOwnedEventTypes, publishableEventTypeSchema } from '../../shared/events.js';
import { formatEventId, parseEventId } from '../../shared/event-id.js';

describe('event catalog', () => {
  it('has the 25+ event types of the design, each with a schema', () => {
    const expected = [
      'connected', 'disconnected', 'ping', 'pong',
      'agent.started', 'agent.thinking', 'agent.progress', 'agent.complete', 'agent.error', 'agent.cancelled',
      'governance.required', 'governance.pending', 'governance.approved', 'governance.rejected', 'governance.expired',
      'sphere.updated', 'sphere.member_joined', 'sphere.member_left',
      'user.presence', 'user.typing', 'user.idle',
      'notification.new', 'notification.read',
      'system.maintenance',
      'room.joined', 'room.left',
    ];
    for (const type of expected) expect(eventTypes).toContain(type);
    expect(eventTypes.length).toBeGreaterThanOrEqual(26);
    for (const type of eventTypes) expect(eventSchemas[type]).toBeDefined();
  });

  it('accepts the seed payloads exactly as they are', () => {
    expect(parseEventData('sphere.updated', { changed: ['name', 'settings'] })).toEqual({ changed: ['name', 'settings'] });
    expect(parseEventData('notification.new', { title: 'Build done', message: 'All green' })).toEqual({ title: 'Build done', message: 'All green' });
    expect(parseEventData('agent.progress', { agentId: 'agent_456', progress: 42 })).toEqual({ agentId: 'agent_456', progress: 42 });
    expect(parseEventData('agent.complete', { result: 'success', agentId: 'agent_456' })).toEqual({ result: 'success', agentId: 'agent_456' });
    expect(parseEventData('governance.required', { actionId: 'act_789', action: 'delete_project' })).toEqual({
      actionId: 'act_789',
      action: 'delete_project',
    });
    expect(parseEventData('system.maintenance', { message: 'Server restart in 5 minutes' })).toEqual({ message: 'Server restart in 5 minutes' });
  });

  it('rejects out-of-range values, missing fields and unknown keys', () => {
    expect(safeParseEventData('agent.progress', { agentId: 'a', progress: 101 }).success).toBe(false);
    expect(safeParseEventData('agent.progress', { agentId: 'a', progress: -1 }).success).toBe(false);
    expect(safeParseEventData('agent.progress', { agentId: 'a' }).success).toBe(false);
    expect(safeParseEventData('notification.new', { title: 'x' }).success).toBe(false);
    expect(safeParseEventData('sphere.updated', { changed: ['a'], sneaky: true }).success).toBe(false);
    expect(safeParseEventData('agent.started', { agentId: '' }).success).toBe(false);
    expect(safeParseEventData('agent.started', { agentId: 'x'.repeat(129) }).success).toBe(false);
  });

  it('rejects unknown types and keeps server-owned types out of publishers’ hands', () => {
    expect(publishableEventTypeSchema.safeParse('not.a.type').success).toBe(false);
    expect(publishableEventTypeSchema.safeParse('notification.new').success).toBe(true);
    for (const type of serverOwnedEventTypes) expect(publishableEventTypeSchema.safeParse(type).success).toBe(false);
  });

  it('formats and parses event ids', () => {
    expect(parseEventId(formatEventId('abc', 42))).toEqual({ epoch: 'abc', sequence: 42 });
    expect(parseEventId('garbage')).toBeNull();
    expect(parseEventId('abc-')).toBeNull();
    // An ephemeral event's id: the sequence of the stored event before it, and its own suffix.
    expect(parseEventId('abc-1.5')).toEqual({ epoch: 'abc', sequence: 1 });
    expect(parseEventId('abc-.5')).toBeNull();
    expect(parseEventId('abc-1.')).toBeNull();
    expect(parseEventId('abc-x.5')).toBeNull();
  });
});
