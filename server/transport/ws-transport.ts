/**
 * The WebSocket side of the service: accepts upgrades on `/trpc`, owns the live connections,
 * the shared frame encoder, keep-alive sweeps, per-address limits and the flood guard.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { CloseCode } from '../../shared/codes.js';
import type { ApiContext } from '../api/context.js';
import type { AppRouter } from '../api/router.js';
import type { RealtimeServices } from '../core/service.js';
import type { RateLimits } from '../api/rate-limit.js';
import { EventFrameEncoder } from './event-frames.js';
import { TickFlusher } from './frame-writer.js';
import { DeadlineQueue } from './deadline-queue.js';
import { WsConnection } from './ws-connection.js';

export interface WsTransportOptions {
  /** Largest single call; a bigger one is answered PAYLOAD_TOO_LARGE by its id. @default 65536 */
  maxPayloadBytes: number;
  /**
   * Largest incoming frame (the official client batches one tick's calls into one frame); a
   * bigger one closes the socket with 1009. @default 1048576
   */
  maxFrameBytes: number;
  /** A connection without a verified token this long after opening is closed (4408). @default 5000 */
  authTimeoutMs: number;
  /** @default 100 */
  maxSubscriptionsPerConnection: number;
  /** Outgoing bytes a connection may have unsent before it is closed as a slow consumer (4008). @default 4 MiB */
  maxBufferedBytes: number;
  /** @default 10000 */
  maxConnectionsPerAddress: number;
  /** Protocol ping interval; a peer silent for two intervals is terminated. @default 30000 */
  keepAlivePingMs: number;
  /** Frames per second (any content) past which a connection is closed with 4030. @default 4 × the rate limit */
  floodFramesPerSecond: number;
  /** On shutdown, how long queries and mutations already received may take to be answered before the sockets close. @default 5000 */
  shutdownDrainMs?: number;
}

export interface TransportCounters {
  deliveries: number;
  slowConsumerCloses: number;
  deadPeerTerminations: number;
  floodCloses: number;
  refusedConnections: number;
  /** Input refused before it cost anything: bad frames, unauthenticated sockets, oversized or malformed calls. */
  refusals: number;
}

export class WsTransport {
  readonly frames: EventFrameEncoder;
  /** Uncorks, once per tick, every socket the fan-out wrote to (frame-writer.ts). */
  readonly flusher = new TickFlusher();
  readonly counters: TransportCounters = {
    deliveries: 0,
    slowConsumerCloses: 0,
    deadPeerTerminations: 0,
    floodCloses: 0,
    refusedConnections: 0,
    refusals: 0,
  };
  private readonly server: WebSocketServer;
  private readonly connections = new Set<WsConnection>();
  private readonly connectionsByAddress = new Map<string, number>();
  private readonly floodGuard: RateLimiterMemory;
  private readonly shutdown = new AbortController();
  private readonly pingTimer: NodeJS.Timeout;
  /** Closes each connection (4001) when its token expires: one timer for all of them. */
  readonly tokenExpiries: DeadlineQueue<WsConnection>;
  /** Ends each connection's authentication window (4408 unless it authenticated by then). */
  readonly authDeadlines: DeadlineQueue<WsConnection>;

  constructor(
    readonly router: AppRouter,
    readonly services: RealtimeServices,
    readonly options: WsTransportOptions,
    private readonly contextFactory: (token: string | undefined, connectionId: string) => Promise<ApiContext>,
    private readonly rateLimits: RateLimits,
    private readonly onError: (error: unknown, context: string) => void,
    /** Told of every refusal (rate-limited logging is the caller's); nothing by default. */
    private readonly onRefusal?: (reason: string, error?: unknown) => void,
  ) {
    this.frames = new EventFrameEncoder((value) => router._def._config.transformer.output.serialize(value));
    this.server = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false });
    this.floodGuard = new RateLimiterMemory({ keyPrefix: 'frames', points: options.floodFramesPerSecond * 5, duration: 5 });
    this.pingTimer = setInterval(() => this.sweepDeadPeers(), options.keepAlivePingMs);
    this.pingTimer.unref();
    this.tokenExpiries = new DeadlineQueue(
      (connection) => connection.close(CloseCode.TokenExpired, 'Token expired'),
      (error) => this.reportError(error, 'token expiry'),
    );
    this.authDeadlines = new DeadlineQueue(
      (connection) => connection.authenticationWindowEnded(),
      (error) => this.reportError(error, 'authentication window'),
    );
  }

  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get subscriptionCount(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.subscriptionCount;
    return total;
  }

  /** Called by the HTTP server for an upgrade on the tRPC path. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.server.handleUpgrade(request, socket, head, (webSocket: WebSocket) => this.accept(webSocket, request));
  }

  /**
   * A method of its own, not a closure in `handleUpgrade`: anything a connection's listeners
   * capture lives as long as the connection, and the upgrade request (headers and all, ~1 KB)
   * must not be part of it.
   */
  private accept(webSocket: WebSocket, request: IncomingMessage): void {
    const address = request.socket.remoteAddress ?? 'unknown';
    if ((this.connectionsByAddress.get(address) ?? 0) >= this.options.maxConnectionsPerAddress || this.shutdown.signal.aborted) {
      this.counters.refusedConnections++;
      webSocket.close(CloseCode.TooManyConnections, this.shutdown.signal.aborted ? 'Shutting down' : 'Too many connections from this address');
      return;
    }
    this.connectionsByAddress.set(address, (this.connectionsByAddress.get(address) ?? 0) + 1);
    this.connections.add(new WsConnection(webSocket, request, address, this));
  }

  createContext(token: string | undefined, connectionId: string): Promise<ApiContext> {
    return this.contextFactory(token, connectionId);
  }

  /** A client sending frames far past its rate limit, in any content, is closed (4030). */
  noteFrame(connection: WsConnection): void {
    this.floodGuard.consume(connection.id).catch(() => {
      this.counters.floodCloses++;
      connection.close(CloseCode.RateLimited, 'Too many messages');
    });
  }

  /**
   * Charges one call to its user's rate limit, before the call is decoded. Per user, not per
   * connection, so opening more sockets buys no more calls. Resolves to the milliseconds to wait,
   * or 0 when the call may proceed.
   */
  chargeCall(userId: string): Promise<number> {
    return this.rateLimits.consume(`user:${userId}`);
  }

  /** Input refused before it cost anything: counted (a metric) and passed to `onRefusal`. */
  noteRefusal(reason: string, error?: unknown): void {
    this.counters.refusals++;
    this.onRefusal?.(reason, error);
  }

  countDelivery(): void {
    this.counters.deliveries++;
  }

  countSlowConsumer(): void {
    this.counters.slowConsumerCloses++;
  }

  /** Called by every connection's cleanup, possibly more than once. */
  forget(connection: WsConnection): void {
    if (!this.connections.delete(connection)) return;
    const remaining = (this.connectionsByAddress.get(connection.address) ?? 1) - 1;
    if (remaining <= 0) this.connectionsByAddress.delete(connection.address);
    else this.connectionsByAddress.set(connection.address, remaining);
  }

  reportError(error: unknown, context: string): void {
    this.onError(error, context);
  }

  /** Drops every connection without a closing handshake, as a network failure would (tests, operators). */
  dropAll(): void {
    for (const connection of [...this.connections]) connection.terminate();
  }

  /** Stops accepting, asks every client to reconnect elsewhere, answers the calls already received, then closes. */
  async close(): Promise<void> {
    this.shutdown.abort();
    clearInterval(this.pingTimer);
    this.tokenExpiries.clear();
    this.authDeadlines.clear();
    for (const connection of this.connections) connection.requestReconnect();
    // A mutation that ran must not look failed to its caller (who might retry it): calls already
    // received are answered before the sockets close. One turn of the event loop first, so that
    // frames already in the kernel's buffers are read; the wait is bounded.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let drainTimer: NodeJS.Timeout | undefined;
    const drainDeadline = new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, this.options.shutdownDrainMs ?? 5_000)));
    await Promise.race([Promise.all([...this.connections].map((connection) => connection.whenIdle())), drainDeadline]);
    clearTimeout(drainTimer);
    for (const connection of [...this.connections]) connection.close(CloseCode.GoingAway, 'Server shutting down');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private sweepDeadPeers(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.counters.deadPeerTerminations++;
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }
}
