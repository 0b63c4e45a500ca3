/**
 * Starting a subscription from the stream's head. tRPC's links (wsLink, httpSubscriptionLink)
 * resend `lastEventId` on reconnect only once a tracked event has arrived: a subscription dropped
 * before its first event resubscribed "fresh" and silently missed what was published while it
 * was away. Asking the server where the stream is now (`streamHead`) and subscribing with that
 * id as `lastEventId` closes the hole: the links keep the original input on reconnect, so the
 * resubscription replays everything after the head. Once an event arrives, the links' own
 * tracked id takes over exactly as before (and a `stream.gap` carries its own id).
 */
import type { Unsubscribable } from '@trpc/server/observable';
import type { RealtimeApi, Unsubscribe } from './event-streams.js';

/** Opens the subscription, with `lastEventId` in its input when the head is known. */
export type SubscriptionOpener = (lastEventId: string | undefined) => Unsubscribable;

/** The input with `lastEventId` added when there is one (an unknown head leaves it as it was). */
export function withLastEventId<Input extends object>(input: Input, lastEventId: string | undefined): Input & { lastEventId?: string } {
  return lastEventId === undefined ? input : { ...input, lastEventId };
}

/**
 * Asks `streamHead` once, then opens the subscription from it. If the query fails (an older
 * server, a rate limit, a network error) the subscription opens without it: it works as it did
 * before, and only a drop before its first event can lose events. The returned unsubscribe works
 * at any moment, also while the query is in flight (it is aborted and nothing is opened).
 */
export function subscribeFromStreamHead(api: RealtimeApi, open: SubscriptionOpener): Unsubscribe {
  const headQuery = new AbortController();
  let subscription: Unsubscribable | undefined;
  let stopped = false;

  void api.streamHead
    .query(undefined, { signal: headQuery.signal })
    .then(
      ({ lastEventId }) => lastEventId ?? undefined,
      () => undefined,
    )
    .then((head) => {
      if (!stopped) subscription = open(head);
    });

  return () => {
    if (stopped) return;
    stopped = true;
    headQuery.abort();
    subscription?.unsubscribe();
  };
}
