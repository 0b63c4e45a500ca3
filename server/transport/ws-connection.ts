/**
 * One WebSocket connection speaking tRPC's WebSocket protocol exactly, so the unmodified
 * `@trpc/client` wsLink works against it. This file is its life: authentication (nothing it
 * sends is decoded before its token's verdict, and it has AUTH_TIMEOUT_MS to present one),
 * registration with the core, token expiry, and writes. Its calls, once it is open, are the
 * CallDispatcher's (call-dispatcher.ts): through `callTRPCProcedure` on the app router, so
 * inputs, middleware and authorization are the router's.
 *
 * Where it differs from `@trpc/server/adapters/ws` is delivery: a subscription that returns an
 * EventStream is attached to the core with a sink that writes a pre-encoded frame (shared by
 * every recipient with the same subscription id), and every write checks the socket's
 * `bufferedAmount`, closing a client that stopped reading instead of buffering without bound.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { getErrorShape, TRPCError, transformTRPCResponse } from '@trpc/server';
import type { TRPCResponseMessage } from '@trpc/server/rpc';
import { CloseCode, withRetryHint } from '../../shared/codes.js';
import { isEphemeralEventId } from '../../shared/event-id.js';
import type { RealtimeEvent } from '../../shared/events.js';
import type { ApiContext } from '../api/context.js';
import { newConnectionId } from '../core/connection-id.js';
import type { CoreConnection } from '../core/connection.js';
import { bearerToken } from '../api/auth.js';
import type { ConnectionServices, ManagedConnection } from './connection-services.js';
import type { PreparedFrame } from './event-frames.js';
import type { DeadlineEntry } from './deadline-queue.js';
import { FrameWindow } from './frame-window.js';
import { ConnectionFrameWriter } from './frame-writer.js';
import { listenToSocket, type SocketListener } from './socket-listeners.js';
import { callHeaderOf, parseFrame, readConnectionParams, requestIdOf, type RequestId } from './client-messages.js';
import { CallDispatcher, type CallHost, type CallType } from './call-dispatcher.js';
import { AuthenticationWindow, maxConnectionParamsBytes, refusalLingerMs, type ConnectionPhase } from './authentication-window.js';
import { isRealtimeError } from '../core/errors.js';

const textFrame = { binary: false } as const;

export class WsConnection implements CallHost, ManagedConnection, CoreConnection, SocketListener {
  readonly id = newConnectionId();
  /** Cleared by each ping sweep, set by any pong or message: a connection still false at the next sweep is dead. */
  alive = true;
  readonly frameWindow = new FrameWindow();
  private phase: ConnectionPhase = 'awaiting-token';
  private authenticated: ApiContext | undefined;
  /** The calls of the connection, from the moment it is open. */
  private calls: CallDispatcher | undefined;
  /** Until the connection opens: its held frames, or why it was refused. */
  private window: AuthenticationWindow | undefined = new AuthenticationWindow();
  /** Settles once the token's verdict is in and the frames held meanwhile are dispatched. */
  private verdict: Promise<void> | undefined;
  private registeredWithCore = false;
  /** Entries in the transport's deadline queues, not cancel closures (issue 17). */
  private tokenExpiry: DeadlineEntry | undefined;
  private authDeadline: DeadlineEntry | undefined;
  /** Made on the first delivery; null when this socket must go through `ws.send` (see frame-writer.ts). */
  private frameWriter: ConnectionFrameWriter | null | undefined;

  constructor(
    private readonly socket: WebSocket,
    request: IncomingMessage,
    /** The peer's address, for the per-address connection limit. */
    readonly address: string,
    private readonly transport: ConnectionServices,
  ) {
    this.authDeadline = transport.authDeadlines.add(Date.now() + transport.options.authTimeoutMs, this);
    // The official client sends its token in a first `connectionParams` message when the URL
    // says so; otherwise the token is the Authorization header's, verified at once.
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.searchParams.get('connectionParams') !== '1') this.authenticate(bearerToken(request.headers.authorization));
    listenToSocket(socket, this);
  }

  get subscriptionCount(): number {
    return this.calls?.subscriptionCount ?? 0;
  }

  /** For the core, handed this object itself, not a wrapper with a closure (issue 17); read once verified. */
  get userId(): string {
    return this.authenticated?.user?.userId ?? '';
  }

  /** The verified context (CallHost): only read once the connection is open. */
  get context(): ApiContext {
    return this.authenticated!;
  }

  /**
   * Resolves once every query and mutation received so far has been answered (graceful
   * shutdown), those held while the token is verified included.
   */
  async whenIdle(): Promise<void> {
    await this.verdict;
    await this.calls?.whenIdle();
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
    this.authDeadline = undefined;
    if (this.phase === 'refused') {
      this.close(CloseCode.Unauthorized, `Unauthorized: ${this.window?.refusalReason}`);
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

  /** Resolves once the socket is closed (a closing handshake, or terminated a second after close()). */
  socketClosed(): Promise<void> {
    if (this.socket.readyState === this.socket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.socket.on('close', () => resolve()));
  }

  terminate(): void {
    this.socket.terminate();
    this.cleanup();
  }

  /** Sends tRPC's reconnect notification: the client reconnects (to another process, perhaps). */
  /** tRPC's `reconnect` request; the official client ignores the extra `reason`, ours reads its retry hint. */
  requestReconnect(retryInMs: number): void {
    this.sendRaw(JSON.stringify({ id: null, method: 'reconnect', reason: withRetryHint('Server shutting down', retryInMs) }));
  }

  // ── incoming ───────────────────────────────────────────────────────────────────────────────

  /** A bad frame is the peer's fault: counted, not logged as our error (SocketListener). */
  onSocketError(error: Error): void {
    this.transport.noteRefusal('bad frame', error);
  }

  onSocketClose(): void {
    this.cleanup();
  }

  onSocketMessage(data: Buffer, isBinary: boolean): void {
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
      this.window?.hold(data, this.transport.options.maxFrameBytes);
      this.refuse('the first message must be connectionParams with a token');
      return;
    }
    this.authenticate(params.token);
  }

  private hold(data: Buffer): void {
    if (!this.window?.hold(data, this.transport.options.maxFrameBytes)) {
      this.transport.noteRefusal('flooding before authentication');
      this.close(CloseCode.RateLimited, 'Too many messages before the token was verified');
    }
  }

  private authenticate(token: string | undefined): void {
    this.phase = 'verifying';
    this.verdict = this.createContext(token)
      .catch((error: unknown) => {
        this.transport.reportError(error, 'authenticating a connection');
        this.close(CloseCode.GoingAway, 'Service unavailable; reconnect later');
      })
      .finally(() => (this.verdict = undefined));
  }

  /**
   * Closes a connection whose token was refused (4401). Calls it sent meanwhile are answered
   * UNAUTHORIZED by id first, so the official client's callers see the reason, not a bare close.
   * Only plain JSON is read for their ids, never their inputs.
   */
  private refuse(reason: string): void {
    this.transport.noteRefusal('unauthenticated');
    this.phase = 'refused';
    const window = (this.window ??= new AuthenticationWindow());
    window.refusalReason = reason;
    this.cancelAuthDeadline();
    this.authDeadline = this.transport.authDeadlines.add(Date.now() + refusalLingerMs, this);
    for (const frame of window.takeHeld()) this.answerUnauthorized(frame);
  }

  private answerUnauthorized(frame: Buffer): void {
    const reason = this.window?.refusalReason ?? 'no token';
    if (!this.window?.noteFrameAfterRefusal() || frame.length > this.transport.options.maxPayloadBytes) {
      this.close(CloseCode.Unauthorized, `Unauthorized: ${reason}`);
      return;
    }
    const error = new TRPCError({ code: 'UNAUTHORIZED', message: reason });
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
    this.calls!.onFrame(list, data.length);
  }

  /**
   * Verifies the token, then registers the connection with the core and opens it: the first
   * call already sees its user online. Frames held meanwhile are then handled in order.
   */
  private async createContext(token: string | undefined): Promise<void> {
    const context = await this.transport.createContext(token, this.id);
    if (this.isClosed()) return;
    if (!context.user) return this.refuse(context.authFailure ?? 'no token');
    this.authenticated = context;
    this.registeredWithCore = true;
    try {
      await this.transport.services.core.connect(this);
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
    this.cancelAuthDeadline();
    this.phase = 'open';
    this.calls = new CallDispatcher(this, this.transport);
    // A token that expires while connected closes the connection (code 4001) at its expiry.
    if (context.user.expiresAt !== undefined) {
      this.tokenExpiry = this.transport.tokenExpiries.add(context.user.expiresAt * 1000, this);
    }
    const held = this.window?.takeHeld() ?? [];
    this.window = undefined;
    for (const frame of held) this.onCalls(frame);
  }

  private cancelAuthDeadline(): void {
    if (this.authDeadline) this.transport.authDeadlines.cancel(this.authDeadline);
    this.authDeadline = undefined;
  }

  private cleanup(): void {
    this.phase = 'closed';
    this.window = undefined;
    if (this.tokenExpiry) this.transport.tokenExpiries.cancel(this.tokenExpiry);
    this.cancelAuthDeadline();
    // The core first: it takes the user offline in the rooms their subscriptions hold, then
    // closes those subscriptions. Closing them here first released the rooms, so members saw
    // the user leave ('unsubscribed') but never go offline.
    if (this.registeredWithCore && this.authenticated?.user) {
      this.registeredWithCore = false;
      void this.transport.services.core.disconnect(this);
    }
    this.calls?.stopAll();
    this.transport.forget(this);
  }

  // ── outgoing ───────────────────────────────────────────────────────────────────────────────

  respond(message: TRPCResponseMessage): void {
    const transformed = transformTRPCResponse(this.transport.router._def._config, message);
    this.sendRaw(JSON.stringify(transformed));
  }

  respondError(id: RequestId | null, error: TRPCError, path: string | undefined, type: CallType, input?: unknown): void {
    if (error.code === 'INTERNAL_SERVER_ERROR') this.transport.reportError(error, `procedure ${path ?? '?'}`);
    const shape = getErrorShape({ config: this.transport.router._def._config, error, type, path, input, ctx: this.authenticated });
    this.respond({ id, error: shape });
  }

  private sendRaw(data: string): void {
    if (this.isClosed()) return;
    this.socket.send(data);
    this.checkBuffered();
  }

  /** `cursor`: the tracked id on a partitioned bus (bus/resume-cursors); else the event's id. */
  deliver(id: RequestId, event: RealtimeEvent, cursor?: string): void {
    // A socket behind on its reads gets no more cursors (a volatile emit): one would be stale by
    // the time the buffer drains, and the room it takes is a durable event's (issue 18).
    if (isEphemeralEventId(event.id) && this.socket.bufferedAmount > this.transport.options.maxBufferedBytes / 2) {
      this.transport.countDroppedEphemeral();
      return;
    }
    this.sendFrame(this.transport.frames.frame(id, event, cursor));
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

