/**
 * Subscriptions that outlive the transport under them. The official wsLink already resubscribes
 * after a reconnect; an SSE stream, once ended, is over. This link sits in front of the
 * subscription transports and gives SSE the same behaviour, and lets `auto` move every
 * subscription from the WebSocket to SSE:
 *
 * - it remembers each subscription's last tracked event id and resubscribes with it as
 *   `lastEventId`, so the server replays what was missed (and the client's RecentIds drops any
 *   overlap);
 * - an SSE stream that fails without an answer from the server (network, proxy, server restart,
 *   a stream the server ended) is resubscribed after `retryDelayMs`; an error the server decided
 *   (UNAUTHORIZED, FORBIDDEN, BAD_REQUEST, ...) ends the subscription, as over the WebSocket;
 * - `moveAll()` resubscribes each subscription on whatever transport `currentTransport()` names.
 *
 * Each SSE stream reports to StreamStates, from which the client's connection state is derived.
 */
import { TRPCClientError, type Operation, type OperationResultEnvelope, type TRPCLink } from '@trpc/client';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import type { AppRouter } from '../../server/api/router.js';
import type { SubscriptionTransport } from '../connection-state.js';
import type { StreamStates } from './stream-states.js';

type ClientError = TRPCClientError<AppRouter>;
type Envelope = OperationResultEnvelope<unknown, ClientError>;

export interface ResubscribingLinkOptions {
  /** The transport a subscription (re)starts on. */
  currentTransport: () => SubscriptionTransport;
  /** Delay before SSE resubscription attempt `attempt` (0-based; back to 0 once a stream opens). */
  retryDelayMs: (attempt: number) => number;
  /** Where SSE streams report their state. */
  streamStates: StreamStates;
}

export interface ResubscribingLink {
  link: TRPCLink<AppRouter>;
  /** Resubscribes every subscription that is not on `currentTransport()` there, at once. */
  moveAll(): void;
  /** Ends every subscription (their `onComplete`); later ones complete at once. */
  closeAll(): void;
}

interface LiveSubscription {
  move(): void;
  close(): void;
}

/** Whether the server answered: a TRPCClientError with its error shape carries `data`. */
function serverDecided(error: unknown): boolean {
  return error instanceof TRPCClientError && error.data != null;
}

/** The input with `lastEventId`, as tRPC's own links add it (objects and no input only). */
function withLastEventId(input: unknown, lastEventId: string | undefined): unknown {
  if (lastEventId === undefined || (input != null && typeof input !== 'object')) return input;
  return { ...(input as object | undefined), lastEventId };
}

export function createResubscribingLink(options: ResubscribingLinkOptions): ResubscribingLink {
  const live = new Set<LiveSubscription>();
  let closed = false;
  let nextStreamId = 0;

  const link: TRPCLink<AppRouter> =
    () =>
    ({ op, next }) =>
      observable<Envelope, ClientError>((observer) => {
        if (closed) {
          observer.complete();
          return () => {};
        }
        const streamId = nextStreamId++;
        let lastEventId: string | undefined;
        let downstream: Unsubscribable | undefined;
        let transport: SubscriptionTransport = options.currentTransport();
        // Bumped whenever an attempt is abandoned, so its late callbacks are ignored.
        let generation = 0;
        let failures = 0;
        let retryTimer: ReturnType<typeof setTimeout> | undefined;

        const detach = () => {
          generation++;
          clearTimeout(retryTimer);
          retryTimer = undefined;
          const previous = downstream;
          downstream = undefined;
          previous?.unsubscribe();
        };

        const end = (finish: () => void) => {
          detach();
          live.delete(subscription);
          options.streamStates.remove(streamId);
          finish();
        };

        const retryLater = (error: Error) => {
          detach();
          options.streamStates.failed(streamId, error);
          retryTimer = setTimeout(start, options.retryDelayMs(failures++));
        };

        function start(): void {
          detach();
          const attempt = ++generation;
          transport = options.currentTransport();
          if (transport === 'sse') options.streamStates.add(streamId);
          else options.streamStates.remove(streamId);
          const attemptOp: Operation = { ...op, input: withLastEventId(op.input, lastEventId) };
          const subscribed = next(attemptOp).subscribe({
            next(envelope) {
              if (attempt !== generation) return;
              const { result } = envelope;
              if (result.type === 'stopped') return; // This link decides when a subscription is over.
              if (result.type === 'started' && transport === 'sse') {
                failures = 0;
                options.streamStates.opened(streamId);
              }
              if (result.type === 'state' && transport === 'sse' && result.state === 'connecting' && result.error) {
                // tRPC's own in-stream retry (a retryable server error, a silent stream): failing for now.
                options.streamStates.failed(streamId, result.error);
              }
              if ((result.type === 'data' || result.type === undefined) && 'id' in result && typeof result.id === 'string') {
                lastEventId = result.id;
              }
              observer.next(envelope);
            },
            error(error) {
              if (attempt !== generation) return;
              if (transport === 'sse' && !serverDecided(error)) retryLater(error);
              else end(() => observer.error(error));
            },
            complete() {
              if (attempt !== generation) return;
              // Our streams never end by themselves: an SSE stream the server ended (a restart,
              // a drained process) is resumed like a dropped one.
              if (transport === 'sse') retryLater(new Error('The server ended the event stream'));
              else end(() => observer.complete());
            },
          });
          if (attempt === generation) downstream = subscribed;
          else subscribed.unsubscribe();
        }

        const subscription: LiveSubscription = {
          move: () => {
            if (options.currentTransport() !== transport) start();
          },
          close: () => end(() => observer.complete()),
        };
        live.add(subscription);
        start();
        return () => end(() => {});
      });

  return {
    link,
    moveAll: () => [...live].forEach((subscription) => subscription.move()),
    closeAll: () => {
      closed = true;
      [...live].forEach((subscription) => subscription.close());
    },
  };
}
