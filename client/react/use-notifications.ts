/**
 * useNotifications: the caller's notifications (notification.new and system.maintenance), newest
 * first, with read state shared across the caller's devices: `markRead` publishes
 * `notification.read` to all of them, and a read on another device arrives here the same way.
 * It loads the stored inbox first (`notifications.list`, when the service keeps one), then
 * follows live events; one notification is listed once, whichever way it came.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { RealtimeEvent } from '../../shared/events.js';
import type { NotificationEventType } from '../event-streams.js';
import { useRealtimeContext } from './context.js';
import { LiveState } from './live-state.js';

/** A notification event with its read state; `id` is what `markRead` takes. */
export type RealtimeNotification = RealtimeEvent<'notification.new' | 'system.maintenance'> & { read: boolean };

export interface NotificationsState {
  /** Newest first, the last `maxNotifications`. */
  notifications: readonly RealtimeNotification[];
  /** Unread in the whole inbox (those listed here and, with a stored inbox, those beyond the page). */
  unreadCount: number;
  /** Marks one read here at once and on the caller's other devices. */
  markRead: (notificationId: string) => Promise<void>;
  /** Marks every notification read, here, in the stored inbox and on the caller's other devices. */
  markAllRead: () => Promise<void>;
}

export interface UseNotificationsOptions {
  /** @default 100 */
  maxNotifications?: number;
}

export const notificationStreamKey = 'onNotification';

type NotificationList = readonly RealtimeNotification[];

/**
 * What the hook holds: the listed notifications, and how many unread ones the stored inbox has
 * beyond them (past the first page, or pushed out by newer ones), so `unreadCount` is the
 * inbox's, not the page's.
 */
export interface InboxState {
  list: NotificationList;
  unreadBeyond: number;
}

const emptyInbox: InboxState = { list: [], unreadBeyond: 0 };

function allRead(list: NotificationList): NotificationList {
  return list.every((notification) => notification.read) ? list : list.map((notification) => (notification.read ? notification : { ...notification, read: true }));
}

/** Keeps the newest `max`; an unread one pushed out still counts. */
function trimmed(list: NotificationList, unreadBeyond: number, max: number): InboxState {
  const pushedOut = list.slice(max).filter((notification) => !notification.read).length;
  return { list: list.length > max ? list.slice(0, max) : list, unreadBeyond: unreadBeyond + pushedOut };
}

/**
 * The stored inbox's first page folded into what is listed: each id once, read if either says
 * so, newest first; `storedUnread` (the server's `unreadCount`) less the page's unread ones are
 * the unread notifications beyond it.
 */
export function mergeInbox(state: InboxState, stored: readonly RealtimeNotification[], storedUnread: number, max = 100): InboxState {
  const byId = new Map(state.list.map((notification) => [notification.id, notification]));
  for (const notification of stored) {
    const known = byId.get(notification.id);
    byId.set(notification.id, known ? { ...known, read: known.read || notification.read } : notification);
  }
  const merged = [...byId.values()].sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime());
  const unreadOnPage = stored.filter((notification) => !notification.read).length;
  return trimmed(merged, Math.max(0, storedUnread - unreadOnPage), max);
}

function markedRead(state: InboxState, notificationId: string): InboxState {
  const { list } = state;
  const index = list.findIndex((notification) => notification.id === notificationId);
  // One not listed here was one of those beyond the page (the inbox only marks unread ones read).
  if (index === -1) return state.unreadBeyond > 0 ? { list, unreadBeyond: state.unreadBeyond - 1 } : state;
  if (list[index]!.read) return state;
  return { ...state, list: list.map((notification, at) => (at === index ? { ...notification, read: true } : notification)) };
}

export function reduceNotifications(state: InboxState, event: RealtimeEvent<NotificationEventType>, max = 100): InboxState {
  switch (event.type) {
    case 'notification.read':
      return event.data.all ? { list: allRead(state.list), unreadBeyond: 0 } : markedRead(state, event.data.notificationId);
    case 'notification.new':
    case 'system.maintenance':
      if (state.list.some((notification) => notification.id === event.id)) return state;
      return trimmed([{ ...event, read: false }, ...state.list], state.unreadBeyond, max);
  }
}

export function useNotifications(options: UseNotificationsOptions = {}): NotificationsState {
  const { client, hub } = useRealtimeContext();
  const max = options.maxNotifications ?? 100;
  const live = useMemo(
    () => new LiveState<InboxState, RealtimeEvent<NotificationEventType>>(emptyInbox, (state, event) => reduceNotifications(state, event, max)),
    [client, max],
  );

  useEffect(
    () =>
      hub.listen<RealtimeEvent<NotificationEventType>>(
        notificationStreamKey,
        (onEvent, handlers) => client.subscribeToNotifications(onEvent, handlers),
        { onEvent: (event) => live.apply(event) },
      ),
    [client, hub, live],
  );

  useEffect(() => {
    live.reload(async () => {
      const inbox = await client.api.notifications.list.query({ limit: max });
      const stored = inbox.items.map(({ readAt: _readAt, ...notification }) => notification);
      return (current) => mergeInbox(current, stored, inbox.unreadCount, max);
    });
  }, [client, live, max]);

  const markAllRead = useMemo(
    () => async () => {
      live.update((state) => ({ list: allRead(state.list), unreadBeyond: 0 }));
      await client.api.notifications.markAllRead.mutate();
    },
    [client, live],
  );

  const markRead = useMemo(
    () => async (notificationId: string) => {
      live.update((state) => markedRead(state, notificationId));
      await client.api.notifications.markRead.mutate({ notificationId });
    },
    [client, live],
  );

  const { list: notifications, unreadBeyond } = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  const unreadCount = useMemo(() => notifications.filter((notification) => !notification.read).length + unreadBeyond, [notifications, unreadBeyond]);
  return { notifications, unreadCount, markRead, markAllRead };
}
