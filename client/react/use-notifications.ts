/**
 * useNotifications: the caller's notifications (notification.new and system.maintenance), newest
 * first, with read state shared across the caller's devices: `markRead` publishes
 * `notification.read` to all of them, and a read on another device arrives here the same way.
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
}

export interface UseNotificationsOptions {
  /** @default 100 */
  maxNotifications?: number;
}

export const notificationStreamKey = 'onNotification';

type NotificationList = readonly RealtimeNotification[];

function markedRead(list: NotificationList, notificationId: string): NotificationList {
  const index = list.findIndex((notification) => notification.id === notificationId);
  if (index === -1 || list[index]!.read) return list;
  return list.map((notification, at) => (at === index ? { ...notification, read: true } : notification));
}

export function reduceNotifications(list: NotificationList, event: RealtimeEvent<NotificationEventType>, max = 100): NotificationList {
  switch (event.type) {
    case 'notification.read':
      return markedRead(list, event.data.notificationId);
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

  const markRead = useMemo(
    () => async (notificationId: string) => {
      live.update((list) => markedRead(list, notificationId));
      await client.api.notifications.markRead.mutate({ notificationId });
    },
    [client, live],
  );

  const notifications = useSyncExternalStore(live.subscribe, live.getSnapshot, live.getSnapshot);
  const unreadCount = useMemo(() => notifications.filter((notification) => !notification.read).length, [notifications]);
  return { notifications, unreadCount, markRead };
}
