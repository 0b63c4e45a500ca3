/**
 * One WebSocket connection speaking tRPC's WebSocket protocol exactly, so the unmodified
 * `@trpc/client` wsLink works against it. Queries, mutations and subscription set-up go through
 * `callTRPCProcedure` on the app router, so inputs, middleware and authorization are the router's.
 *
 * Where it differs from `@trpc/server/adapters/ws` is delivery: a subscription that returns an
 * EventStream is attached to the core with a sink that writes a pre-encoded frame (shared by
 * every recipient with the same subscription id), and every write checks the socket's
 * `bufferedAmount`, closing a client that stopped reading instead of buffering without bound.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { callTRPCProcedure, getErrorShape, TRPCError, transformTRPCResponse } from '@trpc/server';
import type { TRPCResponseMessage, TRPCClientOutgoingMessage } from '@trpc/server/rpc';
import { parseTRPCMessage } from '@trpc/server/rpc';
import { isAsyncIterable, isTrackedEnvelope } from '@trpc/server/unstable-core-do-not-import';
import { CloseCode } from '../../shared/codes.js';
import type { RealtimeEvent } from '../../shared/events.js';
import type { Subscription } from '../core/realtime-core.js';
import type { ApiContext } from '../api/context.js';
import { isEventStream } from '../api/event-stream.js';
import { newConnectionId } from '../core/connection-id.js';
import { toTRPCError } from '../api/trpc.js';
import { bearerToken } from '../api/auth.js';
import type { WsTransport } from './ws-transport.js';
import type { PreparedFrame } from './event-frames.js';
import { ConnectionFrameWriter } from './frame-writer.js';
import { isConnectionParamsMessage, readConnectionParams, requestIdOf, type RequestId } from './client-messages.js';

interface ActiveSubscription {
  /**
   * The procedure's signal while it sets the subscription up (and for the whole life of a
   * generic iterable). Dropped once an EventStream is attached: an AbortSignal with its listener
   * maps is ~0.5 KB, kept per subscription for nothing, since `subscription.close()` ends it.
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

const textFrame = { binary: false } as const;

export class WsConnection {
  readonly id = newConnectionId();
  /** Cleared by each ping sweep, set by any pong or message: a connection still false at the next sweep is dead. */
  alive = true;
  private contextPromise: Promise<ApiContext> | null = null;
  private context: ApiContext | undefined;
  private readonly subscriptions = new Map<RequestId, ActiveSubscription>();
  private closed = false;
  private registeredWithCore = false;
  private cancelExpiry: (() => void) | undefined;
  /** Made on the first delivery; null when this socket must go through `ws.send` (see frame-writer.ts). */
  private frameWriter: ConnectionFrameWriter | null | undefined;
  /** Queries and mutations received and not yet answered; shutdown waits for them. */
  private inFlightCalls = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: WebSocket,
    request: IncomingMessage,
    /** The peer's address, for the per-address connection limit. */
    readonly address: string,
    private readonly transport: WsTransport,
  ) {
    // The official client sends its token in a first `connectionParams` message when the URL
    // says so; otherwise the context is made at once from the Authorization header.
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.searchParams.get('connectionParams') !== '1') {
      this.contextPromise = this.createContext(bearerToken(request.headers.authorization));
    }
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('pong', () => (this.alive = true));
    // An unhandled 'error' event would bring the process down (ws#1354: RSV bits, bad frames).
    socket.on('error', (error) => transport.reportError(error, 'socket error'));
    socket.once('close', () => this.cleanup());
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Every teardown goes through here, with a code from the closed set and a reason. */
  close(code: CloseCode, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
    // A peer that does not read will not complete the closing handshake either.
    setTimeout(() => this.socket.terminate(), 1_000).unref();
    this.cleanup();
  }

  /** A protocol-level ping: every WebSocket client answers it, browsers included. */
  ping(): void {
    try {
      this.socket.ping();
    } catch (error) {
      this.transport.reportError(error, 'ping');
    }
  }

  terminate(): void {
    this.socket.terminate();
    this.cleanup();
  }

  /** Sends tRPC's reconnect notification: the client reconnects (to another process, perhaps). */
  requestReconnect(): void {
    this.sendRaw(JSON.stringify({ id: null, method: 'reconnect' }));
  }

  // ── incoming ───────────────────────────────────────────────────────────────────────────────

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    if (this.closed) return;
    if (!isBinary && data.length === 4) {
      const text = data.toString();
      if (text === 'PING') return this.sendRaw('PONG');
      if (text === 'PONG') return;
    }
    this.transport.noteFrame(this);
    if (!this.contextPromise) {
      const params = readConnectionParams(data);
      this.contextPromise = this.createContext(params?.token);
      // Anything else first is answered as a call without identity (UNAUTHORIZED), not dropped.
      if (params) return;
    }
    let list: unknown[];
    try {
      const parsed: unknown = JSON.parse(data.toString('utf8'));
      list = Array.isArray(parsed) ? parsed : [parsed];
      if (list.length > this.transport.options.maxSubscriptionsPerConnection) throw new Error('Batch too large');
    } catch (cause) {
      this.respondError(null, new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed message', cause }), undefined, 'unknown');
      return;
    }
    list.forEach((raw, index) => {
      if (isConnectionParamsMessage(raw)) {
        // A connection keeps the identity of its first message: a replay (with someone else's
        // token, say) changes nothing, and its sender is told so.
        const error = new TRPCError({ code: 'BAD_REQUEST', message: 'connectionParams is accepted once, as the first message; this connection keeps its identity' });
        this.respondError(requestIdOf(raw), error, undefined, 'unknown');
        return;
      }
      let message: TRPCClientOutgoingMessage;
      try {
        message = parseTRPCMessage(raw, this.transport.router._def._config.transformer);
      } catch (cause) {
        // Answered with the request's own id when it has one (input the transformer cannot
        // read, e.g. forged superjson annotations): a client waiting on that id gets its error.
        this.respondError(requestIdOf(raw), new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed message', cause }), undefined, 'unknown');
        return;
      }
      this.handle(message, index);
    });
  }

  private handle(message: TRPCClientOutgoingMessage, batchIndex: number): void {
    const { id } = message;
    if (id === null) {
      this.respondError(null, new TRPCError({ code: 'PARSE_ERROR', message: '`id` is required' }), undefined, 'unknown');
      return;
    }
    if (message.method === 'subscription.stop') {
      this.stopSubscription(id);
      return;
    }
    const { path, lastEventId } = message.params;
    const type = message.method;
    let input = message.params.input;
    if (lastEventId !== undefined) {
      input = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input, lastEventId } : (input ?? { lastEventId });
    }
    if (type === 'subscription') {
      if (this.subscriptions.has(id)) {
        this.respondError(id, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), path, type);
        return;
      }
      if (this.subscriptions.size >= this.transport.options.maxSubscriptionsPerConnection) {
        const limit = this.transport.options.maxSubscriptionsPerConnection;
        this.respondError(id, new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${limit} subscriptions per connection` }), path, type);
        return;
      }
    }
    const active: ActiveSubscription | undefined = type === 'subscription' ? { abort: new AbortController(), stopped: false } : undefined;
    if (active) this.subscriptions.set(id, active);

    const call = this.call(id, type, path, input, batchIndex, active).catch((cause: unknown) => {
      if (active) this.subscriptions.delete(id);
      this.respondError(id, toTRPCError(cause), path, type, input);
    });
    if (!active) this.trackInFlight(call);
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
    const context = await this.contextPromise!;
    const result = await callTRPCProcedure({
      router: this.transport.router,
      path,
      getRawInput: async () => input,
      ctx: context,
      type,
      signal: active?.abort?.signal ?? this.transport.shutdownSignal,
      batchIndex,
    });
    if (!active) {
      this.respond({ id, result: { type: 'data', data: result } });
      return;
    }
    if (this.closed || active.stopped) return;
    this.respond({ id, result: { type: 'started' } });
    if (isEventStream(result)) {
      const subscription = await result.attach(this.sinkFor(id), this.endFor(id, path));
      if (this.closed || active.stopped) {
        subscription.close();
        return;
      }
      active.subscription = subscription;
      active.abort = undefined;
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
  private sinkFor(id: RequestId): (event: RealtimeEvent) => void {
    return (event) => this.sendFrame(this.transport.frames.frame(id, event));
  }

  /** How the service ends subscription `id` (room access revoked); made here for the same reason as `sinkFor`. */
  private endFor(id: RequestId, path: string): (error: unknown) => void {
    return (error) => this.endSubscription(id, toTRPCError(error), path);
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
          this.respond({ id, result: { type: 'data', id: eventId, data: { id: eventId, data } } });
        } else {
          this.respond({ id, result: { type: 'data', data: value } });
        }
      }
    } finally {
      await iterator.return?.();
    }
    if (!active.stopped) {
      this.subscriptions.delete(id);
      this.respond({ id, result: { type: 'stopped' } });
    }
  }

  /** The service ended a subscription (room access revoked): the client hears why, and it is not resumed. */
  private endSubscription(id: RequestId, error: TRPCError, path: string): void {
    const active = this.subscriptions.get(id);
    if (!active) return;
    this.subscriptions.delete(id);
    stop(active);
    this.respondError(id, error, path, 'subscription');
  }

  private stopSubscription(id: RequestId): void {
    const active = this.subscriptions.get(id);
    if (!active) return;
    this.subscriptions.delete(id);
    stop(active);
    this.respond({ id, result: { type: 'stopped' } });
  }

  // ── context and lifecycle ──────────────────────────────────────────────────────────────────

  private async createContext(token: string | undefined): Promise<ApiContext> {
    const context = await this.transport.createContext(token, this.id);
    this.context = context;
    if (context.user && !this.closed) {
      this.registeredWithCore = true;
      try {
        // Awaited, so the first call on this connection already sees its user online.
        await this.transport.services.core.connect({ id: this.id, userId: context.user.userId, close: (code, reason) => this.close(code, reason) });
      } catch (error) {
        this.registeredWithCore = false;
        this.transport.reportError(error, 'registering a connection');
        this.close(CloseCode.GoingAway, 'Service unavailable; reconnect later');
        return context;
      }
      // A token that expires while connected closes the connection (code 4001) at its expiry.
      if (context.user.expiresAt !== undefined) {
        this.cancelExpiry = this.transport.tokenExpiries.add(context.user.expiresAt * 1000, this);
      }
    }
    return context;
  }

  private cleanup(): void {
    this.closed = true;
    this.cancelExpiry?.();
    // The core first: it takes the user offline in the rooms their subscriptions hold, then
    // closes those subscriptions. Closing them here first released the rooms, so members saw
    // the user leave ('unsubscribed') but never go offline.
    if (this.registeredWithCore && this.context?.user) {
      this.registeredWithCore = false;
      void this.transport.services.core.disconnect({ id: this.id, userId: this.context.user.userId });
    }
    for (const active of this.subscriptions.values()) stop(active);
    this.subscriptions.clear();
    this.transport.forget(this);
  }

  // ── outgoing ───────────────────────────────────────────────────────────────────────────────

  private respond(message: TRPCResponseMessage): void {
    const transformed = transformTRPCResponse(this.transport.router._def._config, message);
    this.sendRaw(JSON.stringify(transformed));
  }

  private respondError(
    id: RequestId | null,
    error: TRPCError,
    path: string | undefined,
    type: 'query' | 'mutation' | 'subscription' | 'unknown',
    input?: unknown,
  ): void {
    if (error.code === 'INTERNAL_SERVER_ERROR') this.transport.reportError(error, `procedure ${path ?? '?'}`);
    const shape = getErrorShape({ config: this.transport.router._def._config, error, type, path, input, ctx: this.context });
    this.respond({ id, error: shape });
  }

  private sendRaw(data: string): void {
    if (this.closed) return;
    this.socket.send(data);
    this.checkBuffered();
  }

  /**
   * The hot path: the frame's bytes go straight to the net.Socket, corked until the end of the
   * tick so that several events in one burst leave in one syscall; `ws.send` is the fallback.
   */
  private sendFrame(frame: PreparedFrame): void {
    if (this.closed) return;
    if (this.frameWriter === undefined) this.frameWriter = ConnectionFrameWriter.for(this.socket, this.transport.flusher) ?? null;
    if (!this.frameWriter?.write(frame.bytes)) this.socket.send(frame.payload, textFrame);
    this.transport.countDelivery();
    this.checkBuffered();
  }

  private checkBuffered(): void {
    if (this.socket.bufferedAmount > this.transport.options.maxBufferedBytes) {
      this.transport.countSlowConsumer();
      this.close(CloseCode.SlowConsumer, 'Slow consumer: outgoing buffer full; reconnect and resume with lastEventId');
    }
  }
}

