/** Test support: subscribes through our client to the user's notifications, keeping titles in order, starts and errors. */
import type { RealtimeClient } from '../../client/index.js';
import type { RealtimeEvent } from '../../shared/events.js';

export function collectNotifications(client: RealtimeClient) {
  const titles: string[] = [];
  const errors: Error[] = [];
  let starts = 0;
  const stop = client.subscribeToNotifications(
    (event: RealtimeEvent) => {
      if (event.type === 'notification.new') titles.push(event.data.title);
    },
    { onStarted: () => starts++, onError: (error) => errors.push(error) },
  );
  return { titles, errors, starts: () => starts, stop };
}
