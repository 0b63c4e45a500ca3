/**
 * The WebSocket side of the service: accepts upgrades on `/trpc`, holds the live connections
 * (per-address limit), sweeps dead peers and shuts down. What connections share and need (the
 * frame encoder, deadlines, flood guard, rate limit, counters) is ConnectionServices: a
 * connection depends on that, never on this class.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, withRetryHint } from '../../shared/codes.js';
import type { ApiContext } from '../api/context.js';
import type { AppRouter } from '../api/router.js';
import type { RealtimeServices } from '../core/service.js';
import type { RateLimits } from '../api/rate-limit.js';
import { ConnectionServices, type ConnectionLimits, type TransportCounters } from './connection-services.js';
import type { EventFrameEncoder } from './event-frames.js';
import { KeepAliveSweep } from './keepalive-sweep.js';
import { WsConnection } from './ws-connection.js';

export type { TransportCounters } from './connection-services.js';

export interface WsTransportOptions extends ConnectionLimits {
  /** @default 10000 */
  maxConnectionsPerAddress: number;
  /** Protocol ping interval; a peer silent for two intervals is terminated. @default 30000 */
  keepAlivePingMs: number;
  /** On shutdown, how long queries and mutations already received may take to be answered before the sockets close. @default 5000 */
  shutdownDrainMs?: number;
  /** WebSockets in all; one more is refused (4029) with a retry hint. @default no limit but MAX_CONNECTIONS' */
  maxConnections?: number;
  /**
   * Refused or shut-down clients are told to come back after a random delay between half this
   * and this (shared/codes.ts withRetryHint), so they do not all return at once. @default 2000
   */
  reconnectSpreadMs?: number;
}

export interface WsTransportDependencies {
  router: AppRouter;
  services: RealtimeServices;
  rateLimits: RateLimits;
  createContext: (token: string | undefined, connectionId: string) => Promise<ApiContext>;
  onError: (error: unknown, context: string) => void;
  /** Told of every refusal (rate-limited logging is the caller's); nothing by default. */
  onRefusal?: (reason: string, error?: unknown) => void;
}

export class WsTransport {
  private readonly shared: ConnectionServices;
  private readonly server: WebSocketServer;
  private readonly connections = new Set<WsConnection>();
  private readonly connectionsByAddress = new Map<string, number>();
  private readonly keepAlive: KeepAliveSweep<WsConnection>;

  constructor(
    private readonly options: WsTransportOptions,
    dependencies: WsTransportDependencies,
  ) {
    this.shared = new ConnectionServices({
      ...dependencies,
      limits: options,
      forget: (connection) => this.forget(connection as WsConnection),
    });
    // No clientTracking: `connections` already holds every socket; ws's own Set and the 'close'
    // listener it adds to each socket cost ~150 bytes per connection (issue 17). `close()`
    // waits for the sockets itself, as ws did for its tracked clients.
    this.server = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.keepAlive = new KeepAliveSweep(this.connections, options.keepAlivePingMs, (connection) => this.checkPeer(connection));
  }

  get counters(): TransportCounters {
    return this.shared.counters;
  }

  /** The fan-out's encoder (its count of encoded events is a metric). */
  get frames(): EventFrameEncoder {
    return this.shared.frames;
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
    const refusal = this.shared.shutdownSignal.aborted
      ? 'Shutting down'
      : this.connections.size >= (this.options.maxConnections ?? Number.POSITIVE_INFINITY)
        ? 'The server is at its connection limit'
        : (this.connectionsByAddress.get(address) ?? 0) >= this.options.maxConnectionsPerAddress
          ? 'Too many connections from this address'
          : undefined;
    if (refusal !== undefined) {
      this.counters.refusedConnections++;
      webSocket.close(CloseCode.TooManyConnections, withRetryHint(refusal, this.retryInMs()));
      return;
    }
    this.connectionsByAddress.set(address, (this.connectionsByAddress.get(address) ?? 0) + 1);
    this.connections.add(new WsConnection(webSocket, request, address, this.shared));
  }

  /** Called by every connection's cleanup, possibly more than once. */
  private forget(connection: WsConnection): void {
    if (!this.connections.delete(connection)) return;
    const remaining = (this.connectionsByAddress.get(connection.address) ?? 1) - 1;
    if (remaining <= 0) this.connectionsByAddress.delete(connection.address);
    else this.connectionsByAddress.set(connection.address, remaining);
  }

  /** Drops every connection without a closing handshake, as a network failure would (tests, operators). */
  dropAll(): void {
    for (const connection of [...this.connections]) connection.terminate();
  }

  /** Stops accepting, asks every client to reconnect elsewhere, answers the calls already received, then closes. */
  async close(): Promise<void> {
    this.shared.stop();
    this.keepAlive.stop();
    for (const connection of this.connections) connection.requestReconnect(this.retryInMs());
    // A mutation that ran must not look failed to its caller (who might retry it): calls already
    // received are answered before the sockets close. One turn of the event loop first, so that
    // frames already in the kernel's buffers are read; the wait is bounded.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let drainTimer: NodeJS.Timeout | undefined;
    const drainDeadline = new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, this.options.shutdownDrainMs ?? 5_000)));
    await Promise.race([Promise.all([...this.connections].map((connection) => connection.whenIdle())), drainDeadline]);
    clearTimeout(drainTimer);
    const closing = [...this.connections];
    for (const connection of closing) connection.close(CloseCode.GoingAway, withRetryHint('Server shutting down', this.retryInMs()));
    await Promise.all(closing.map((connection) => connection.socketClosed()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A retry hint spread over the second half of the window: no client is told to come back at once. */
  private retryInMs(): number {
    const spread = this.options.reconnectSpreadMs ?? 2_000;
    return spread / 2 + Math.random() * (spread / 2);
  }

  /** A peer that answered nothing since its last ping is dropped; the others are pinged again. */
  private checkPeer(connection: WsConnection): void {
    if (!connection.alive) {
      this.counters.deadPeerTerminations++;
      connection.terminate();
      return;
    }
    connection.alive = false;
    connection.ping();
  }
}
