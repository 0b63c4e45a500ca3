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

function allRead(list: NotificationList): NotificationList {
  return list.every((notification) => notification.read) ? list : list.map((notification) => (notification.read ? notification : { ...notification, read: true }));
}

/** The stored inbox folded into what is listed: each id once, read if either says so, newest first. */
export function mergeInbox(list: NotificationList, stored: readonly RealtimeNotification[], max = 100): NotificationList {
  const byId = new Map(list.map((notification) => [notification.id, notification]));
  for (const notification of stored) {
    const known = byId.get(notification.id);
    byId.set(notification.id, known ? { ...known, read: known.read || notification.read } : notification);
  }
  return [...byId.values()].sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime()).slice(0, max);
}

function markedRead(list: NotificationList, notificationId: string): NotificationList {
  const index = list.findIndex((notification) => notification.id === notificationId);
  if (index === -1 || list[index]!.read) return list;
  return list.map((notification, at) => (at === index ? { ...notification, read: true } : notification));
}

export function reduceNotifications(list: NotificationList, event: RealtimeEvent<NotificationEventType>, max = 100): NotificationList {
  switch (event.type) {
    case 'notification.read':
      return event.data.all ? allRead(list) : markedRead(list, event.data.notificationId);
    case 'notification.new':
    case 'system.maintenance':
      if (list.some((notification) => notification.id === event.id)) return list;
      return [{ ...event, read: false }, ...list].slice(0, max);
  }
}

export function useNotifications(options: UseNotificationsOptions = {}): NotificationsState {
  const { client, hub } = useRealtimeContext();
  const max = options.maxNotifications ?? 100;
  const live = useMemo(
    () => new LiveState<NotificationList, RealtimeEvent<NotificationEventType>>([], (list, event) => reduceNotifications(list, event, max)),
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
      return (current) => mergeInbox(current, stored, max);
    });
  }, [client, live, max]);

  const markAllRead = useMemo(
    () => async () => {
      live.update(allRead);
      await client.api.notifications.markAllRead.mutate();
    },
    [client, live],
  );

  const markRead = useMemo(
    () => async (notificationId: string) => {
      live.update((list) => markedRead(list, notificationId));
      await client.api.notifications.markRead.mutate({ notificationId });
    },
    [client, live],
  );

  const notifications = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  const unreadCount = useMemo(() => notifications.filter((notification) => !notification.read).length, [notifications]);
  return { notifications, unreadCount, markRead, markAllRead };
}
