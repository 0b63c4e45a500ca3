/** What `admin.history` asks for, and the filter over the global history that answers it. */
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import type { EventCatalog } from './event-catalog.js';

export interface HistoryQuery {
  limit?: number;
  type?: EventType;
  roomId?: string;
  userId?: string;
}

/** At most 1,000 events, 100 unless asked. */
export const historyLimit = (query: HistoryQuery): number => Math.min(query.limit ?? 100, 1_000);

/** Matches the query; ephemeral app events are never listed. */
export function historyFilter(query: HistoryQuery, catalog: EventCatalog): (event: RealtimeEvent) => boolean {
  const { type, roomId, userId } = query;
  return (event) =>
    !catalog.isEphemeral(event.type) &&
    (type === undefined || event.type === type) &&
    (roomId === undefined || event.roomId === roomId) &&
    (userId === undefined || event.userId === userId || event.senderId === userId);
}
