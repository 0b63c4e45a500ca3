/** The signed-in operator's own inbox (useNotifications: the stored inbox, then live), with read state. */
import type { RealtimeNotification } from '../../react/index.js';
import { useNotifications } from '../../react/index.js';

export function InboxPanel() {
  const { notifications, unreadCount, markRead, markAllRead } = useNotifications({ maxNotifications: 20 });
  return (
    <section className="panel" data-testid="inbox-panel">
      <div className="panel-header">
        <h2>Inbox</h2>
        <span className="count" data-testid="inbox-unread">
          {unreadCount} unread
        </span>
        <button type="button" disabled={unreadCount === 0} onClick={() => void markAllRead()} data-testid="inbox-mark-all">
          Mark all read
        </button>
      </div>
      {notifications.length === 0 ? (
        <div className="empty">No notifications.</div>
      ) : (
        notifications.map((notification) => <InboxRow key={notification.id} notification={notification} markRead={markRead} />)
      )}
    </section>
  );
}

function InboxRow({ notification, markRead }: { notification: RealtimeNotification; markRead(id: string): Promise<void> }) {
  const title = notification.type === 'notification.new' ? notification.data.title : 'maintenance';
  const text = notification.data.message;
  return (
    <div className={notification.read ? 'inbox-row read' : 'inbox-row'} data-testid="inbox-row">
      <strong>{title}</strong> <span className="muted">{text}</span>{' '}
      {!notification.read && (
        <button type="button" onClick={() => void markRead(notification.id)}>
          read
        </button>
      )}
    </div>
  );
}
