/** How a `user.presence` or `user.idle` event changes what we know of a user's presence. */
import type { RealtimeEvent } from '../../shared/events.js';
import type { UserPresence } from '../../shared/presence.js';

export type PresenceEvent = RealtimeEvent<'user.presence' | 'user.idle'>;

export function isPresenceEvent(event: RealtimeEvent): event is PresenceEvent {
  return event.type === 'user.presence' || event.type === 'user.idle';
}

/** Returns `known` itself when nothing changes, so callers can skip a re-render. */
export function applyPresenceEvent(known: UserPresence, event: PresenceEvent): UserPresence {
  if (event.type === 'user.idle') {
    if (known.idle) return known;
    // The server shows an idle user who chose "online" as away; other choices stand.
    return { ...known, idle: true, status: known.status === 'online' ? 'away' : known.status };
  }
  const { status, lastSeen, metadata } = event.data;
  const connections = status === 'offline' ? 0 : Math.max(known.connections, 1);
  return { ...known, status, lastSeen, connections, idle: false, ...(metadata !== undefined && { metadata }) };
}
