/** Counts events seen by this process and shapes the statistics snapshot of the seed's API. */
import type { EventType } from '../../shared/events.js';
import { createListeners } from '../../shared/listeners.js';

export interface Statistics {
  totalEvents: number;
  activeConnections: number;
  activeUsers: number;
  activeRooms: number;
  onlineUsers: number;
  subscriptions: number;
  eventsByType: Partial<Record<EventType, number>>;
}

export type Gauges = Omit<Statistics, 'totalEvents' | 'eventsByType'>;

export class StatisticsCounter {
  private total = 0;
  private readonly byType = new Map<EventType, number>();
  private readonly listeners = createListeners<EventType>();

  count(type: EventType): void {
    this.total++;
    this.byType.set(type, (this.byType.get(type) ?? 0) + 1);
    this.listeners.emit(type);
  }

  /** Called on every counted event (metrics mirror it). Returns its own unsubscribe. */
  onCount(listener: (type: EventType) => void): () => void {
    return this.listeners.add(listener);
  }

  snapshot(gauges: Gauges): Statistics {
    return { totalEvents: this.total, ...gauges, eventsByType: Object.fromEntries(this.byType) };
  }
}
