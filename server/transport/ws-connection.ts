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
import { annotationsWithinBounds, callHeaderOf, isConnectionParamsMessage, maxInputAnnotations, parseFrame, readConnectionParams, requestIdOf, type RequestId } from './client-messages.js';
import { isRealtimeError } from '../core/errors.js';

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

/**
 * Where a connection stands. Until `open` nothing it sends is decoded: `awaiting-token` takes
 * only its connectionParams message, `verifying` holds raw frames (bounded) until the token's
 * verdict. `refused` answers calls UNAUTHORIZED by id for a moment, so that the official
 * client's callers see why (its batch follows connectionParams by a few milliseconds), and
 * then the socket closes with 4401.
 */
type ConnectionPhase = 'awaiting-token' | 'verifying' | 'refused' | 'open' | 'closed';

/** How long a refused connection answers before it closes. */
const refusalLingerMs = 1_000;

/** A connectionParams message carries a token and little else; a JWT is rarely past 4 KB. */
const maxConnectionParamsBytes = 16 * 1024;
/**
 * Frames a client may send while its token is being verified (the official client sends a batch
 * per tick; verifying against a JWKS may take a network round trip). Past it, or past one
 * frame's worth of bytes, the client is flooding (4030).
 */
const maxHeldFrames = 64;

export class WsConnection {
  readonly id = newConnectionId();
  /** Cleared by each ping sweep, set by any pong or message: a connection still false at the next sweep is dead. */
  alive = true;
  private phase: ConnectionPhase = 'awaiting-token';
  private context: ApiContext | undefined;
  /** Raw frames received while `verifying`, with their total size. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private refusalReason = '';
  private framesSinceRefusal = 0;
  private readonly subscriptions = new Map<RequestId, ActiveSubscription>();
  private registeredWithCore = false;
  private cancelExpiry: (() => void) | undefined;
  private cancelAuthDeadline: (() => void) | undefined;
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
    this.cancelAuthDeadline = transport.authDeadlines.add(Date.now() + transport.options.authTimeoutMs, this);
    // The official client sends its token in a first `connectionParams` message when the URL
    // says so; otherwise the token is the Authorization header's, verified at once.
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.searchParams.get('connectionParams') !== '1') this.authenticate(bearerToken(request.headers.authorization));
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('pong', () => (this.alive = true));
    // An unhandled 'error' event would bring the process down (ws#1354: RSV bits, bad frames,
    // frames past maxPayload). They are the peer's fault: counted, not logged as our errors.
    socket.on('error', (error) => transport.noteRefusal('bad frame', error));
    socket.once('close', () => this.cleanup());
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** A method, not a field read, so that checks after an `await` are not narrowed away. */
  isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Every teardown goes through here, with a code from the closed set and a reason. */
  close(code: CloseCode, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    try {
      // The protocol allows 123 bytes of reason.
      this.socket.close(code, Buffer.from(reason).subarray(0, 123).toString());
    } catch {
      this.socket.terminate();
    }
    // A peer that does not read will not complete the closing handshake either.
    setTimeout(() => this.socket.terminate(), 1_000).unref();
    this.cleanup();
  }

  /** Called by the transport when the authentication window (or a refusal's linger) ends. */
  authenticationWindowEnded(): void {
    this.cancelAuthDeadline = undefined;
    if (this.phase === 'refused') {
      this.close(CloseCode.Unauthorized, `Unauthorized: ${this.refusalReason}`);
    } else if (this.phase === 'awaiting-token' || this.phase === 'verifying') {
      this.transport.noteRefusal('authentication timeout');
      this.close(CloseCode.AuthenticationTimeout, 'No valid token within the authentication window');
    }
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
    if (this.phase === 'closed') return;
    if (!isBinary && data.length === 4) {
      const text = data.toString();
      if (text === 'PING') return this.sendRaw('PONG');
      if (text === 'PONG') return;
    }
    this.transport.noteFrame(this);
    switch (this.phase) {
      case 'awaiting-token':
        return this.onConnectionParams(data);
      case 'verifying':
        return this.hold(data);
      case 'refused':
        return this.answerUnauthorized(data);
      case 'open':
        return this.onCalls(data);
    }
  }

  /** The first message must be connectionParams; it is the only thing decoded before a verdict. */
  private onConnectionParams(data: Buffer): void {
    const params = data.length <= maxConnectionParamsBytes ? readConnectionParams(data) : undefined;
    if (!params) {
      this.held.push(data);
      this.refuse('the first message must be connectionParams with a token');
      return;
    }
    this.authenticate(params.token);
  }

  private hold(data: Buffer): void {
    this.heldBytes += data.length;
    this.held.push(data);
    if (this.held.length > maxHeldFrames || this.heldBytes > this.transport.options.maxFrameBytes) {
      this.transport.noteRefusal('flooding before authentication');
      this.close(CloseCode.RateLimited, 'Too many messages before the token was verified');
    }
  }

  private authenticate(token: string | undefined): void {
    this.phase = 'verifying';
    this.createContext(token).catch((error: unknown) => {
      this.transport.reportError(error, 'authenticating a connection');
      this.close(CloseCode.GoingAway, 'Service unavailable; reconnect later');
    });
  }

  /**
   * Closes a connection whose token was refused (4401). Calls it sent meanwhile are answered
   * UNAUTHORIZED by id first, so the official client's callers see the reason, not a bare close.
   * Only plain JSON is read for their ids, never their inputs.
   */
  private refuse(reason: string): void {
    this.transport.noteRefusal('unauthenticated');
    this.phase = 'refused';
    this.refusalReason = reason;
    this.cancelAuthDeadline?.();
    this.cancelAuthDeadline = this.transport.authDeadlines.add(Date.now() + refusalLingerMs, this);
    const held = this.held.splice(0);
    this.heldBytes = 0;
    for (const frame of held) this.answerUnauthorized(frame);
  }

  private answerUnauthorized(frame: Buffer): void {
    if (++this.framesSinceRefusal > maxHeldFrames || frame.length > this.transport.options.maxPayloadBytes) {
      this.close(CloseCode.Unauthorized, `Unauthorized: ${this.refusalReason}`);
      return;
    }
    const error = new TRPCError({ code: 'UNAUTHORIZED', message: this.refusalReason });
    for (const raw of parseFrame(frame) ?? []) {
      const id = requestIdOf(raw);
      if (id !== null && callHeaderOf(raw)?.method !== 'subscription.stop') this.respondError(id, error, undefined, 'unknown');
    }
  }

  /** An authenticated connection's frame: one call or the official client's batch of calls. */
  private onCalls(data: Buffer): void {
    const list = parseFrame(data);
    if (!list) {
      this.transport.noteRefusal('malformed frame');
      this.respondError(null, new TRPCError({ code: 'PARSE_ERROR', message: 'Malformed message' }), undefined, 'unknown');
      return;
    }
    // Only a frame larger than one call may hold a call that is too large: measure each then.
    const measure = data.length > this.transport.options.maxPayloadBytes;
    list.forEach((raw, index) => this.onCall(raw, index, measure));
  }

  private onCall(raw: unknown, batchIndex: number, measure: boolean): void {
    const id = requestIdOf(raw);
    const header = callHeaderOf(raw);
    if (isConnectionParamsMessage(raw)) {
      // A connection keeps the identity of its first message: a replay (with someone else's
      // token, say) changes nothing, and its sender is told so.
      const error = new TRPCError({ code: 'BAD_REQUEST', message: 'connectionParams is accepted once, as the first message; this connection keeps its identity' });
      this.respondError(id, error, undefined, 'unknown');
      return;
    }
    if (id === null || !header) {
      this.transport.noteRefusal('malformed call');
      this.respondError(id, new TRPCError({ code: 'PARSE_ERROR', message: id === null ? 'A call needs an `id`: a string of at most 64 characters or an integer' : 'Malformed message' }), undefined, 'unknown');
      return;
    }
    const { method, path } = header;
    if (method === 'subscription.stop') return this.stopSubscription(id);
    const limit = this.transport.options.maxPayloadBytes;
    if (measure && JSON.stringify(raw).length > limit) {
      this.transport.noteRefusal('call too large');
      this.respondError(id, new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `A call may be at most ${limit} bytes` }), path, method);
      return;
    }
    let active: ActiveSubscription | undefined;
    if (method === 'subscription') {
      if (this.subscriptions.has(id)) {
        this.respondError(id, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${id}` }), path, method);
        return;
      }
      const maxSubscriptions = this.transport.options.maxSubscriptionsPerConnection;
      if (this.subscriptions.size >= maxSubscriptions) {
        this.respondError(id, new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `At most ${maxSubscriptions} subscriptions per connection` }), path, method);
        return;
      }
      // Reserved now, before the asynchronous admission, so that a stop in the same batch finds it.
      active = { abort: new AbortController(), stopped: false };
      this.subscriptions.set(id, active);
    }
    const call = this.admit(raw, id, batchIndex, active).catch((cause: unknown) => {
      if (active && this.subscriptions.get(id) === active) this.subscriptions.delete(id);
      this.respondError(id, toTRPCError(cause), path, method);
    });
    if (!active) this.trackInFlight(call);
  }

  /**
   * Charges the user's rate limit for the call, then decodes it (superjson included) and runs
   * it. A refused call costs neither the decoding nor the procedure.
   */
  private async admit(raw: unknown, id: RequestId, batchIndex: number, active: ActiveSubscription | undefined): Promise<void> {
    const retryAfterMs = await this.transport.chargeCall(this.context!.user!.userId);
    if (retryAfterMs > 0) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Rate limit exceeded; retry in ${retryAfterMs} ms` });
    if (active?.stopped || this.isClosed()) return;
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
      ctx: this.context!,
      type,
      signal: active?.abort?.signal ?? this.transport.shutdownSignal,
      batchIndex,
    });
    if (!active) {
      this.respond({ id, result: { type: 'data', data: result } });
      return;
    }
    if (this.isClosed() || active.stopped) return;
    this.respond({ id, result: { type: 'started' } });
    if (isEventStream(result)) {
      const subscription = await result.attach(this.sinkFor(id));
      if (this.isClosed() || active.stopped) {
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

  private stopSubscription(id: RequestId): void {
    const active = this.subscriptions.get(id);
    if (!active) return;
    this.subscriptions.delete(id);
    stop(active);
    this.respond({ id, result: { type: 'stopped' } });
  }

  // ── context and lifecycle ──────────────────────────────────────────────────────────────────

  /**
   * Verifies the token, then registers the connection with the core and opens it: the first
   * call already sees its user online. Frames held meanwhile are then handled in order.
   */
  private async createContext(token: string | undefined): Promise<void> {
    const context = await this.transport.createContext(token, this.id);
    if (this.isClosed()) return;
    if (!context.user) return this.refuse(context.authFailure ?? 'no token');
    this.context = context;
    this.registeredWithCore = true;
    try {
      await this.transport.services.core.connect({ id: this.id, userId: context.user.userId, close: (code, reason) => this.close(code, reason) });
    } catch (error) {
      this.registeredWithCore = false;
      if (isRealtimeError(error) && error.code === 'TOO_MANY_REQUESTS') {
        this.transport.noteRefusal('too many connections for one user');
        this.close(CloseCode.TooManyConnections, error.message);
        return;
      }
      throw error;
    }
    if (this.isClosed()) return;
    this.cancelAuthDeadline?.();
    this.cancelAuthDeadline = undefined;
    this.phase = 'open';
    // A token that expires while connected closes the connection (code 4001) at its expiry.
    if (context.user.expiresAt !== undefined) {
      this.cancelExpiry = this.transport.tokenExpiries.add(context.user.expiresAt * 1000, this);
    }
    const held = this.held.splice(0);
    this.heldBytes = 0;
    for (const frame of held) this.onCalls(frame);
  }

  private cleanup(): void {
    this.phase = 'closed';
    this.held = [];
    this.cancelExpiry?.();
    this.cancelAuthDeadline?.();
    this.cancelAuthDeadline = undefined;
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
    if (this.isClosed()) return;
    this.socket.send(data);
    this.checkBuffered();
  }

  /**
   * The hot path: the frame's bytes go straight to the net.Socket, corked until the end of the
   * tick so that several events in one burst leave in one syscall; `ws.send` is the fallback.
   */
  private sendFrame(frame: PreparedFrame): void {
    if (this.isClosed()) return;
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

