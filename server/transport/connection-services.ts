/**
 * What every WebSocket connection shares and needs: the router and the services, the limits, the
 * one frame encoder and tick flusher of the fan-out, one deadline queue for token expiries and one
 * for authentication windows, the flood guard, the rate limit, and the counters.
 *
 * An object of its own so that a connection depends on this and nothing else: the transport
 * (accepting upgrades, sweeping dead peers, shutting down) holds connections, but no connection
 * holds the transport, and neither file imports the other's class.
 */
import { CloseCode } from '../../shared/codes.js';
import type { ApiContext } from '../api/context.js';
import type { RateLimits } from '../api/rate-limit.js';
import type { AppRouter } from '../api/router.js';
import type { RealtimeServices } from '../core/service.js';
import { DeadlineQueue } from './deadline-queue.js';
import { EventFrameEncoder } from './event-frames.js';
import { TickFlusher } from './frame-writer.js';
import type { FrameWindow } from './frame-window.js';

/** The flood guard's window: a burst may go past the per-second bound, a sustained flood may not. */
const floodWindowSeconds = 5;

/** The limits a connection applies itself. */
export interface ConnectionLimits {
  /** Largest single call; a bigger one is answered PAYLOAD_TOO_LARGE by its id. */
  maxPayloadBytes: number;
  /** Largest incoming frame; what is held before authentication is bounded by it too. */
  maxFrameBytes: number;
  /** A connection without a verified token this long after opening is closed (4408). */
  authTimeoutMs: number;
  maxSubscriptionsPerConnection: number;
  /** Outgoing bytes a connection may have unsent before it is closed as a slow consumer (4008). */
  maxBufferedBytes: number;
  /** Frames per second (any content) past which a connection is closed with 4030. */
  floodFramesPerSecond: number;
}

/** The little the shared parts need to know of a connection. */
export interface ManagedConnection {
  readonly id: string;
  /** Its frames counted for the flood guard (noteFrame). */
  readonly frameWindow: FrameWindow;
  close(code: CloseCode, reason: string): void;
  authenticationWindowEnded(): void;
}

export interface TransportCounters {
  deliveries: number;
  slowConsumerCloses: number;
  /** Ephemeral frames (cursors) not written to a socket whose buffer was past half its bound. */
  droppedEphemeral: number;
  deadPeerTerminations: number;
  floodCloses: number;
  refusedConnections: number;
  /** Input refused before it cost anything: bad frames, unauthenticated sockets, oversized or malformed calls. */
  refusals: number;
}

export interface ConnectionServicesOptions {
  router: AppRouter;
  services: RealtimeServices;
  limits: ConnectionLimits;
  rateLimits: RateLimits;
  createContext: (token: string | undefined, connectionId: string) => Promise<ApiContext>;
  /** Told when a connection has gone (its cleanup may run more than once). */
  forget: (connection: ManagedConnection) => void;
  onError: (error: unknown, context: string) => void;
  /** Told of every refusal (rate-limited logging is the caller's); nothing by default. */
  onRefusal?: (reason: string, error?: unknown) => void;
}

export class ConnectionServices {
  readonly router: AppRouter;
  readonly services: RealtimeServices;
  readonly options: ConnectionLimits;
  readonly frames: EventFrameEncoder;
  /** Uncorks, once per tick, every socket the fan-out wrote to (frame-writer.ts). */
  readonly flusher = new TickFlusher();
  readonly counters: TransportCounters = {
    deliveries: 0,
    slowConsumerCloses: 0,
    droppedEphemeral: 0,
    deadPeerTerminations: 0,
    floodCloses: 0,
    refusedConnections: 0,
    refusals: 0,
  };
  /** Closes each connection (4001) when its token expires: one timer for all of them. */
  readonly tokenExpiries: DeadlineQueue<ManagedConnection>;
  /** Ends each connection's authentication window (4408 unless it authenticated by then). */
  readonly authDeadlines: DeadlineQueue<ManagedConnection>;
  private readonly shutdown = new AbortController();

  constructor(private readonly settings: ConnectionServicesOptions) {
    this.router = settings.router;
    this.services = settings.services;
    this.options = settings.limits;
    this.frames = new EventFrameEncoder((value) => settings.router._def._config.transformer.output.serialize(value));
    this.tokenExpiries = new DeadlineQueue(
      (connection) => connection.close(CloseCode.TokenExpired, 'Token expired'),
      (error) => this.reportError(error, 'token expiry'),
    );
    this.authDeadlines = new DeadlineQueue(
      (connection) => connection.authenticationWindowEnded(),
      (error) => this.reportError(error, 'authentication window'),
    );
  }

  /** Aborted when the service shuts down: the signal of calls that are not subscriptions. */
  get shutdownSignal(): AbortSignal {
    return this.shutdown.signal;
  }

  createContext(token: string | undefined, connectionId: string): Promise<ApiContext> {
    return this.settings.createContext(token, connectionId);
  }

  /** A client sending frames far past its rate limit, in any content, is closed (4030). */
  noteFrame(connection: ManagedConnection): void {
    if (connection.frameWindow.admit(performance.now(), this.options.floodFramesPerSecond * floodWindowSeconds, floodWindowSeconds * 1000)) return;
    this.counters.floodCloses++;
    connection.close(CloseCode.RateLimited, 'Too many messages');
  }

  /**
   * Charges one call to its user's rate limit, before the call is decoded. Per user, not per
   * connection, so opening more sockets buys no more calls. Resolves to the milliseconds to wait,
   * or 0 when the call may proceed.
   */
  chargeCall(userId: string): Promise<number> {
    return this.settings.rateLimits.consume(`user:${userId}`);
  }

  /** Input refused before it cost anything: counted and passed to `onRefusal`. */
  noteRefusal(reason: string, error?: unknown): void {
    this.counters.refusals++;
    this.settings.onRefusal?.(reason, error);
  }

  countDelivery(): void {
    this.counters.deliveries++;
  }

  countDroppedEphemeral(): void {
    this.counters.droppedEphemeral++;
  }

  countSlowConsumer(): void {
    this.counters.slowConsumerCloses++;
  }

  forget(connection: ManagedConnection): void {
    this.settings.forget(connection);
  }

  reportError(error: unknown, context: string): void {
    this.settings.onError(error, context);
  }

  /** Shutdown begins: no more deadlines, and calls see an aborted signal. */
  stop(): void {
    this.shutdown.abort();
    this.tokenExpiries.clear();
    this.authDeadlines.clear();
  }
}
