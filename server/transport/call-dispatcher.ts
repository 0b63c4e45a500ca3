/**
 * The calls of one authenticated WebSocket connection: each call of a frame (one message, or the
 * official client's batch) is checked on plain JSON (id, size), charged to its user's rate limit,
 * and only then decoded (superjson included) and run through `callTRPCProcedure` on the router.
 * Subscriptions that return an EventStream are attached to the core with a sink that hands each
 * event to the connection's pre-encoded delivery; any other async iterable is iterated.
 *
 * It sees its connection through `CallHost` (answers, delivery, whether it is closed) and the
 * transport through `CallTransport`: nothing else of either.
 */
import { callTRPCProcedure, TRPCError } from '@trpc/server';
import type { TRPCClientOutgoingMessage, TRPCResponseMessage } from '@trpc/server/rpc';
import { parseTRPCMessage } from '@trpc/server/rpc';
import { isAsyncIterable, isTrackedEnvelope } from '@trpc/server/unstable-core-do-not-import';
import type { RealtimeEvent } from '../../shared/events.js';
import type { ApiContext } from '../api/context.js';
import { isEventStream } from '../api/event-stream.js';
import type { AppRouter } from '../api/router.js';
import { toTRPCError } from '../api/trpc.js';
import type { Subscription } from '../core/realtime-core.js';
import { annotationsWithinBounds, callHeaderOf, isConnectionParamsMessage, maxInputAnnotations, requestIdOf, type RequestId } from './client-messages.js';

export type CallType = 'query' | 'mutation' | 'subscription' | 'unknown';

/** What the dispatcher needs of its connection. */
export interface CallHost {
  /** The connection's context, with its verified user. */
  readonly context: ApiContext;
  isClosed(): boolean;
  respond(message: TRPCResponseMessage): void;
  respondError(id: RequestId | null, error: TRPCError, path: string | undefined, type: CallType, input?: unknown): void;
  /** The hot path: one event to one of this connection's subscriptions. */
  deliver(id: RequestId, event: RealtimeEvent, cursor?: string): void;
}

/** What the dispatcher needs of the transport. */
export interface CallTransport {
  readonly router: AppRouter;
  readonly options: { maxPayloadBytes: number; maxSubscriptionsPerConnection: number };
  readonly shutdownSignal: AbortSignal;
  chargeCall(userId: string): Promise<number>;
  noteRefusal(reason: string, error?: unknown): void;
}

interface ActiveSubscription {
  /**
   * Only for a generic iterable, made when its iteration starts: what a stop aborts. A
   * subscription of the app router returns an EventStream, which is attached here, never
   * iterated, so the signal tRPC hands its resolver goes unused over WebSocket; a signal of its
   * own per subscription (~0.7 KB, an AbortSignal is an EventTarget) lived through the whole
   * set-up, was promoted to old space under a connect burst and then dropped, leaving holes in
   * its pages (issue 17). A stop during set-up is seen by the `stopped` checks after each step.
   */
  abort: AbortController | undefined;
  subscription?: Subscription;
  stopped: boolean;
}

/** Ends a subscription however far it got: set-up aborted, attached stream closed. */
function stop(active: ActiveSubscription): void {
  active.stopped = true;
  active.abort?.abort();
  active.subscription?.close();
}

export class CallDispatcher {
  private readonly subscriptions = new Map<RequestId, ActiveSubscription>();
  /** Queries and mutations received and not yet answered; shutdown waits for them. */
  private inFlightCalls = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly host: CallHost,
    private readonly transport: CallTransport,
  ) {}

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** The calls of one frame, parsed as plain JSON. */
  onFrame(list: unknown[], frameBytes: number): void {
    // Only a frame larger than one call may hold a call that is too large: measure each then.
    const measure = frameBytes > this.transport.options.maxPayloadBytes;
    list.forEach((raw, index) => this.onCall(raw, index, measure));
  }

  /** Ends every subscription (the connection closed). */
  stopAll(): void {
    for (const active of this.subscriptions.values()) stop(active);
    this.subscriptions.clear();
  }

  private onCall(raw: unknown, batchIndex: number, measure: boolean): void {
    const id = requestIdOf(raw);
    const header = callHeaderOf(raw);
    if (isConnectionParamsMessage(raw)) {
      // A connection keeps the identity of its first message: a replay (with someone else's
      // token, say) changes nothing, and its sender is told so.
      const error = new TRPCError({ code: 'BAD_REQUEST', message: 'connectionParams is accepted once, as the first message; this connection keeps its identity' });
      this.host.respondError(id, error, undefined, 'unknown');
      return;
    }
    if (id === null || !header) {
      this.transport.noteRefusal('malformed call');
      this.host.respondError(id, new TRPCError({ code: 'PARSE_ERROR', message: id === null ? 'A call needs an `id`: a string of at most 64 characters or an integer' : 'Malformed message' }), undefined, 'unknown');
      return;
    }
    const { method, path } = header;
    if (method === 'subscription.stop') return this.stopSubscription(id);
    const limit = this.transport.options.maxPayloadBytes;
    if (measure && Buffer.byteLength(JSON.stringify(raw)) > limit) {
      this.transport.noteRefusal('call too large');
      this.host.respondError(id, new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `A call may be at most ${limit} bytes` }), path, method);
      return;
    }
    let active: ActiveSubscription | undefined;
    if (method === 'subscription') {
      if (this.subscriptions.has(id)) {
        this.host.respondError(id, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), path, method);
        return;
      }
      const maxSubscriptions = this.transport.options.maxSubscriptionsPerConnection;
      if (this.subscriptions.size >= maxSubscriptions) {
        this.host.respondError(id, new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${maxSubscriptions} subscriptions per connection` }), path, method);
        return;
      }
      // Reserved now, before the asynchronous admission, so that a stop in the same batch finds it.
      active = { abort: undefined, stopped: false };
      this.subscriptions.set(id, active);
    }
    const call = this.admit(raw, id, batchIndex, active).catch((cause: unknown) => {
      if (active && this.subscriptions.get(id) === active) this.subscriptions.delete(id);
      this.host.respondError(id, toTRPCError(cause), path, method);
    });
    if (!active) this.trackInFlight(call);
  }

  /**
   * Charges the user's rate limit for the call, then decodes it (superjson included) and runs
   * it. A refused call costs neither the decoding nor the procedure.
   */
  private async admit(raw: unknown, id: RequestId, batchIndex: number, active: ActiveSubscription | undefined): Promise<void> {
    const retryAfterMs = await this.transport.chargeCall(this.host.context.user!.userId);
    if (retryAfterMs > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Rate limit exceeded; retry in ${retryAfterMs} ms` });
    if (active?.stopped || this.host.isClosed()) return;
    if (!annotationsWithinBounds(raw)) {
      this.transport.noteRefusal('too many superjson annotations');
      throw new TRPCError({ code: 'BAD_REQUEST', message: `An input may carry at most ${maxInputAnnotations} superjson annotations` });
    }
    let message: TRPCClientOutgoingMessage;
    try {
      message = parseTRPCMessage(raw, this.transport.router._def._config.transformer);
    } catch (cause) {
      // Input the transformer cannot read, e.g. forged superjson annotations.
      this.transport.noteRefusal('undecodable call');
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed message', cause });
    }
    if (message.method === 'subscription.stop') return;
    const { path, lastEventId } = message.params;
    let input = message.params.input;
    if (lastEventId !== undefined) {
      input = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
    }
    await this.call(id, message.method, path, input, batchIndex, active);
  }

  /** Resolves once every query and mutation received so far has been answered (graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.inFlightCalls === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private trackInFlight(call: Promise<void>): void {
    this.inFlightCalls++;
    const settle = () => {
      if (--this.inFlightCalls > 0) return;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    call.then(settle, settle);
  }

  private async call(
    id: RequestId,
    type: 'query' | 'mutation' | 'subscription',
    path: string,
    input: unknown,
    batchIndex: number,
    active: ActiveSubscription | undefined,
  ): Promise<void> {
    const result = await callTRPCProcedure({
      router: this.transport.router,
      path,
      getRawInput: async () => input,
      ctx: this.host.context,
      type,
      signal: this.transport.shutdownSignal,
      batchIndex,
    });
    if (!active) {
      this.host.respond({ id, result: { type: 'data', data: result } });
      return;
    }
    if (this.host.isClosed() || active.stopped) return;
    this.host.respond({ id, result: { type: 'started' } });
    if (isEventStream(result)) {
      const subscription = await result.attach(this.sinkFor(id), this.endFor(id, path));
      if (this.host.isClosed() || active.stopped) {
        subscription.close();
        return;
      }
      active.subscription = subscription;
      return;
    }
    if (!isAsyncIterable(result)) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `${path} did not return a stream` });
    await this.iterate(id, result, active);
  }

  /**
   * The delivery sink of one subscription. Made here rather than inside `call`, whose scope
   * would keep the procedure's input (and everything else `call` closes over) alive for as long
   * as the subscription lives.
   */
  private sinkFor(id: RequestId): (event: RealtimeEvent, cursor?: string) => void {
    return (event, cursor) => this.host.deliver(id, event, cursor);
  }

  /** How the service ends one subscription with an error (revoked room access, say): answered by its id. */
  private endFor(id: RequestId, path: string): (error: unknown) => void {
    return (error) => this.endSubscription(id, toTRPCError(error), path);
  }

  private endSubscription(id: RequestId, error: TRPCError, path: string): void {
    const active = this.subscriptions.get(id);
    if (!active) return;
    this.subscriptions.delete(id);
    stop(active);
    this.host.respondError(id, error, path, 'subscription');
  }

  /** The generic path, for a subscription that returns any other async iterable. */
  private async iterate(id: RequestId, iterable: AsyncIterable<unknown>, active: ActiveSubscription): Promise<void> {
    const iterator = iterable[Symbol.asyncIterator]();
    const signal = (active.abort ??= new AbortController()).signal;
    const aborted = new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted')));
    try {
      while (true) {
        const next = await Promise.race([iterator.next(), aborted]);
        if (next === 'aborted' || next.done) break;
        const value: unknown = next.value;
        if (isTrackedEnvelope(value)) {
          const [eventId, data] = value;
          this.host.respond({ id, result: { type: 'data', id: eventId, data: { id: eventId, data } } });
        } else {
          this.host.respond({ id, result: { type: 'data', data: value } });
        }
      }
    } finally {
      await iterator.return?.();
    }
    if (!active.stopped) {
      this.subscriptions.delete(id);
      this.host.respond({ id, result: { type: 'stopped' } });
    }
  }

  private stopSubscription(id: RequestId): void {
    const active = this.subscriptions.get(id);
    if (!active) return;
    this.subscriptions.delete(id);
    stop(active);
    this.host.respond({ id, result: { type: 'stopped' } });
  }
}
