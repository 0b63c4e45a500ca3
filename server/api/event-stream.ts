/**
 * What every subscription procedure returns: a description of the events it wants (channels,
 * types, a room to hold, where to resume) that is also an async iterable of `tracked` events.
 *
 * The router stays the one place where inputs and authorization are decided; the stream is
 * just the result. tRPC's own adapters (HTTP/SSE, createCaller) iterate it like any generator.
 * Our WebSocket transport recognises it and calls `attach` with a sink that writes pre-encoded
 * frames: no iterator step, promise or per-recipient serialization per delivered event.
 */
import { tracked, type TrackedEnvelope } from '@trpc/server';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { RealtimeError } from '../core/errors.js';
import { newConnectionId } from '../core/connection-id.js';
import type { EventSink } from '../core/fanout.js';
import type { RealtimeCore, SubscribeOptions, Subscription } from '../core/realtime-core.js';
import { toTRPCError } from './trpc.js';

export type StreamSpec = Omit<SubscribeOptions, 'sink' | 'connection'>;

/** Events a subscription yields: its own types, plus the gap notice any resumed stream may carry. */
export type StreamEvent<T extends EventType> = RealtimeEvent<T | 'stream.gap'>;

/**
 * Who may end a live stream from outside (room access taken back): told when the stream is live,
 * it returns what to call when the stream ends for any reason.
 */
export interface StreamGuard {
  watch(stream: { end(error: RealtimeError): void }): () => void;
}

/** Events queued for a slow iterating consumer before the stream ends with an error. */
const maxQueuedForIterator = 10_000;

export class EventStream<T extends EventType = EventType> implements AsyncIterable<TrackedEnvelope<StreamEvent<T>>> {
  constructor(
    private readonly core: RealtimeCore,
    private readonly connection: StreamConnection,
    readonly spec: StreamSpec,
    private readonly signal?: AbortSignal,
    private readonly guard?: StreamGuard,
  ) {}

  /**
   * The fast path: deliver straight to `sink` until the returned subscription is closed.
   * `onEnd` hears when the service ends the stream with an error (room access revoked; the
   * transport tells the client). What the guard keeps captures neither this stream nor its
   * signal: a live subscription costs only its own closures.
   */
  async attach(sink: EventSink, onEnd?: (error: RealtimeError) => void): Promise<Subscription> {
    const subscription = await this.core.subscribe({ ...this.spec, connection: { id: this.connection.id, userId: this.connection.userId }, sink });
    if (!this.guard) {
      // Nothing can end it from outside: the core's subscription as it is, no wrapper per subscriber.
      this.subscription = subscription;
      return subscription;
    }
    const guard = this.guard;
    let closed = false;
    let unwatch: (() => void) | undefined;
    const attached: Subscription = {
      close: () => {
        if (closed) return;
        closed = true;
        unwatch?.();
        subscription.close();
      },
    };
    unwatch = guard.watch({
      end: (error) => {
        if (closed) return;
        attached.close();
        onEnd?.(error);
      },
    });
    this.subscription = attached;
    return attached;
  }

  /**
   * For a stream iterated rather than attached (SSE, server-side callers): registers its
   * connection and subscription now, queuing what arrives until it is read. The SSE resolver
   * awaits it before returning, so by the time the client hears the stream started, the user is
   * online and no event published from then on can be missed. Idempotent.
   */
  open(): Promise<void> {
    this.opening ??= this.openNow();
    return this.opening;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TrackedEnvelope<StreamEvent<T>>, void, unknown> {
    await this.open();
    const onAbort = () => this.wake?.();
    this.signal?.addEventListener('abort', onAbort);
    try {
      while (!this.signal?.aborted && !this.closedByCore) {
        if (this.endedWith) throw toTRPCError(this.endedWith);
        if (this.overflowed) throw new RealtimeError('SERVICE_UNAVAILABLE', 'Subscriber fell too far behind; resume with lastEventId');
        const queued = this.queue.shift();
        if (queued) {
          yield tracked(queued.cursor ?? queued.event.id, queued.event as StreamEvent<T>);
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      await this.teardown();
    }
  }

  private opening: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  /** `cursor`: the tracked id on a partitioned bus (bus/resume-cursors). */
  private readonly queue: Array<{ event: RealtimeEvent; cursor: string | undefined }> = [];
  private overflowed = false;
  private closedByCore = false;
  private tornDown = false;
  private wake: (() => void) | undefined;
  private expiry: NodeJS.Timeout | undefined;
  /** Set when the service ended an iterated stream: the iterator throws it to the client. */
  private endedWith: RealtimeError | undefined;

  private async openNow(): Promise<void> {
    // A stream without a transport connection (SSE) is a connection of its own for the core:
    // the user is online while it is open, and its end leaves rooms like a closed socket.
    const { registerWithCore, expiresAtMs, ...identity } = this.connection;
    if (registerWithCore) {
      await this.core.connect({ ...identity, close: () => this.end() });
      // Like a WebSocket closing with 4001: the stream ends when its token does, and the client
      // comes back with a fresh token (and lastEventId) or not at all.
      if (expiresAtMs !== undefined) this.endAt(expiresAtMs);
    }
    try {
      await this.attach(
        (event, cursor) => {
          if (this.queue.length >= maxQueuedForIterator) this.overflowed = true;
          else this.queue.push({ event, cursor });
          this.wake?.();
        },
        (error) => {
          this.endedWith = error;
          this.wake?.();
        },
      );
    } catch (error) {
      if (registerWithCore) await this.core.disconnect(identity);
      throw error;
    }
    // A stream abandoned before it is ever read (the client went away first) still lets go.
    this.signal?.addEventListener('abort', () => void this.teardown(), { once: true });
  }

  private endAt(atMs: number): void {
    const delay = atMs - Date.now();
    this.expiry = setTimeout(() => (delay > maxTimerMs ? this.endAt(atMs) : this.end()), Math.max(0, Math.min(delay, maxTimerMs)));
    this.expiry.unref();
  }

  private end(): void {
    this.closedByCore = true;
    this.wake?.();
  }

  private async teardown(): Promise<void> {
    if (this.tornDown || !this.opening) return;
    this.tornDown = true;
    clearTimeout(this.expiry);
    this.subscription?.close();
    this.queue.length = 0;
    const { registerWithCore, expiresAtMs: _expiresAtMs, ...identity } = this.connection;
    if (registerWithCore) await this.core.disconnect(identity);
  }
}

export function isEventStream(value: unknown): value is EventStream {
  return value instanceof EventStream;
}

export interface StreamConnection {
  id: string;
  userId: string;
  /** True for a stream that arrives without a WebSocket (SSE, server-side callers). */
  registerWithCore: boolean;
  /** When the stream's token expires (epoch ms): a stream of its own ends then. */
  expiresAtMs?: number;
}

/** setTimeout's ceiling (~24.8 days): a later end is reached in steps. */
const maxTimerMs = 2_147_483_647;

/**
 * The connection a stream belongs to: the WebSocket it arrived on, or, without one (SSE over
 * HTTP), a connection of its own that lives as long as the stream.
 */
export function streamConnection(connectionId: string | undefined, user: { userId: string; expiresAt?: number }): StreamConnection {
  const { userId, expiresAt } = user;
  return connectionId === undefined
    ? { id: `stream:${newConnectionId()}`, userId, registerWithCore: true, ...(expiresAt !== undefined && { expiresAtMs: expiresAt * 1000 }) }
    : { id: connectionId, userId, registerWithCore: false };
}
