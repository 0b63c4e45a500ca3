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
import { randomUUID } from 'node:crypto';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { RealtimeError } from '../core/errors.js';
import type { EventSink } from '../core/fanout.js';
import type { RealtimeCore, SubscribeOptions, Subscription } from '../core/realtime-core.js';

export type StreamSpec = Omit<SubscribeOptions, 'sink' | 'connection'>;

/** Events a subscription yields: its own types, plus the gap notice any resumed stream may carry. */
export type StreamEvent<T extends EventType> = RealtimeEvent<T | 'stream.gap'>;

/** Events queued for a slow iterating consumer before the stream ends with an error. */
const maxQueuedForIterator = 10_000;

export class EventStream<T extends EventType = EventType> implements AsyncIterable<TrackedEnvelope<StreamEvent<T>>> {
  constructor(
    private readonly core: RealtimeCore,
    private readonly connection: StreamConnection,
    readonly spec: StreamSpec,
    private readonly signal?: AbortSignal,
  ) {}

  /** The fast path: deliver straight to `sink` until the returned subscription is closed. */
  attach(sink: EventSink): Promise<Subscription> {
    return this.core.subscribe({ ...this.spec, connection: { id: this.connection.id, userId: this.connection.userId }, sink });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<TrackedEnvelope<StreamEvent<T>>, void, unknown> {
    const queue: RealtimeEvent[] = [];
    let overflowed = false;
    let closedByCore = false;
    let wake: (() => void) | undefined;
    // A stream without a transport connection (SSE) is a connection of its own for the core:
    // the user is online while it is open, and its end leaves rooms like a closed socket.
    const { registerWithCore, ...identity } = this.connection;
    if (registerWithCore) {
      await this.core.connect({
        ...identity,
        close: () => {
          closedByCore = true;
          wake?.();
        },
      });
    }
    let subscription: Subscription;
    try {
      subscription = await this.attach((event) => {
        if (queue.length >= maxQueuedForIterator) overflowed = true;
        else queue.push(event);
        wake?.();
      });
    } catch (error) {
      if (registerWithCore) await this.core.disconnect(identity);
      throw error;
    }
    const onAbort = () => wake?.();
    this.signal?.addEventListener('abort', onAbort);
    try {
      while (!this.signal?.aborted && !closedByCore) {
        if (overflowed) throw new RealtimeError('SERVICE_UNAVAILABLE', 'Subscriber fell too far behind; resume with lastEventId');
        const event = queue.shift();
        if (event) {
          yield tracked(event.id, event as StreamEvent<T>);
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
      subscription.close();
      if (registerWithCore) await this.core.disconnect(identity);
    }
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
}

/**
 * The connection a stream belongs to: the WebSocket it arrived on, or, without one (SSE over
 * HTTP), a connection of its own that lives as long as the stream.
 */
export function streamConnection(connectionId: string | undefined, userId: string): StreamConnection {
  return connectionId === undefined
    ? { id: `stream:${randomUUID()}`, userId, registerWithCore: true }
    : { id: connectionId, userId, registerWithCore: false };
}
