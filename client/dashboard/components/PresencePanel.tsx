/** Users the service knows, with their presence: connected ones first, then by name. */
import type { PresenceEntry } from '../live/api-types.js';
import { formatAge } from '../live/format.js';
import { useNow } from '../live/use-now.js';

const statusOrder = { online: 0, busy: 1, away: 2, offline: 3 } as const;
/** Rows rendered; a busy service has thousands of users, and the first ones matter most. */
const maxShown = 60;

export function PresencePanel({ users }: { users: readonly PresenceEntry[] }) {
  const now = useNow();
  const sorted = [...users].sort(
    (a, b) => statusOrder[a.status] - statusOrder[b.status] || a.userId.localeCompare(b.userId),
  );
  const connected = users.filter((user) => user.connections > 0).length;
  return (
    <section className="panel" data-testid="presence-panel">
      <div className="panel-header">
        <h2>Users</h2>
        <span className="count">
          {connected} connected · {users.length} known
        </span>
      </div>
      {sorted.length === 0 ? (
        <div className="empty">Nobody has connected yet.</div>
      ) : (
        <ul className="list">
          {sorted.slice(0, maxShown).map((user) => (
            <li key={user.userId} data-testid={`presence-${user.userId}`} data-status={user.status}>
              <span className="status-dot" data-status={user.status} data-idle={user.idle} />
              <span className="grow">{user.userId}</span>
              <span className="meta">
                {user.status}
                {user.idle ? ' · idle' : ''}
                {user.connections > 1 ? ` · ${user.connections} tabs` : ''}
                {user.status === 'offline' ? ` · ${formatAge(user.lastSeen, now)}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
      {sorted.length > maxShown && <div className="muted">and {sorted.length - maxShown} more</div>}
    </section>
  );
}
