/**
 * The EventSource the SSE transport opens its streams with: the browser's own, or one passed
 * in (in Node 20: `import { EventSource } from 'eventsource'`), made to give up on its first
 * error instead of reconnecting by itself.
 *
 * Why not let it reconnect: an EventSource retries with the URL it was made with, so the token
 * in it (EventSource cannot set headers; the token travels as tRPC `connectionParams` in the
 * query) is never refreshed, and it retries on its own fixed delay (3 s) in step with every other
 * client that lost the same server. Closing it on the first error hands the stream back to the
 * client, which resubscribes with backoff and jitter, a freshly read token and the last event id
 * (resubscribing-link.ts), exactly as the WebSocket transport does.
 */

/** A listener as EventSource implementations declare it; the wrapper's own ignores the event. */
type EventListenerLike = (event: Event) => void;

/** What tRPC's httpSubscriptionLink needs of an EventSource (the DOM's and the `eventsource` package's both fit). */
export interface EventSourceLike {
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSED: number;
  readonly readyState: number;
  addEventListener(type: string, listener: EventListenerLike): void;
  removeEventListener(type: string, listener: EventListenerLike): void;
  close(): void;
}

/** An EventSource class: `globalThis.EventSource` in browsers, the `eventsource` package's in Node. */
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** The EventSource to use, or a clear error when there is none (Node without the option). */
export function resolveEventSource(given: EventSourceConstructor | undefined): EventSourceConstructor {
  const found = given ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  if (!found) {
    throw new TypeError(
      "transport 'sse' and 'auto' need an EventSource and this runtime has none: pass one (in Node, `import { EventSource } from 'eventsource'`)",
    );
  }
  return found;
}

/** `Base`, closed at its first error: the error reaches tRPC as a closed stream, which ends the attempt. */
export function singleAttemptEventSource(Base: EventSourceConstructor): EventSourceConstructor {
  return class SingleAttemptEventSource extends Base {
    constructor(url: string, init?: { withCredentials?: boolean }) {
      super(url, init);
      // Registered before tRPC's own listener, so tRPC already sees CLOSED and ends the stream.
      this.addEventListener('error', () => {
        if (this.readyState !== this.CLOSED) this.close();
      });
    }
  };
}
