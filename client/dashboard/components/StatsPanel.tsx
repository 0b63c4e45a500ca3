/** The service's counters (admin.stats) as a row of cards. */
import type { ServiceStats } from '../live/api-types.js';
import { formatDuration } from '../live/format.js';

export function StatsPanel({ stats }: { stats: ServiceStats | undefined }) {
  const cards: [label: string, value: string, testId: string][] = [
    ['connections', String(stats?.activeConnections ?? '–'), 'stat-connections'],
    ['connected users', String(stats?.activeUsers ?? '–'), 'stat-users'],
    ['online', String(stats?.onlineUsers ?? '–'), 'stat-online'],
    ['rooms', String(stats?.activeRooms ?? '–'), 'stat-rooms'],
    ['subscriptions', String(stats?.subscriptions ?? '–'), 'stat-subscriptions'],
    ['events', stats ? stats.totalEvents.toLocaleString() : '–', 'stat-events'],
    ['rate limited', String(stats?.rateLimited ?? '–'), 'stat-rate-limited'],
    ['uptime', stats ? formatDuration(stats.uptimeSeconds) : '–', 'stat-uptime'],
  ];
  return (
    <section className="stats" data-testid="stats" aria-label="Service statistics">
      {cards.map(([label, value, testId]) => (
        <div className="stat" key={label}>
          <div className="value" data-testid={testId}>
            {value}
          </div>
          <div className="label">{label}</div>
        </div>
      ))}
    </section>
  );
}
