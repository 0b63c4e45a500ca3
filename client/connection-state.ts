/**
 * The connection state as a closed union, derived from the tRPC WebSocket client's own state
 * observable, or over SSE from the state of the client's streams (see stream-states.ts). One
 * `setState` emits `{ prev, next }` only on a real change (centrifuge-style), and the snapshot
 * object is replaced only then, so React's `useSyncExternalStore` can read it.
 */
import { createListeners } from '../shared/listeners.js';

/**
 * - `idle`: not connected and not trying (lazy start; over SSE, no subscription open: a stream
 *   is the only connection there is).
 * - `connecting`: the first connection is being made (and may have failed once or twice; see `error`).
 * - `failed`: the first connection has failed `failedAfterAttempts` times in a row: the service
 *   is unreachable or refuses this page (an Origin not in its CORS_ORIGINS; a browser does not
 *   say which). `error` is what the transport saw. Retries go on with backoff; the first success
 *   makes it `open`.
 * - `open`: the WebSocket is open; over SSE, the streams are open and none is failing.
 * - `reconnecting`: an open connection (a stream) was lost; retrying with backoff, subscriptions resume.
 * - `closed`: `close()` was called; final.
 */
export type ConnectionState = 'idle' | 'connecting' | 'failed' | 'open' | 'reconnecting' | 'closed';

/** Failed attempts at a first connection before the state is `failed` rather than `connecting`. */
export const failedAfterAttempts = 3;

/** What carries the subscriptions now: one WebSocket, or one Server-Sent Events stream per subscription. */
export type SubscriptionTransport = 'websocket' | 'sse';

export interface ConnectionSnapshot {
  readonly state: ConnectionState;
  /** Why the connection is not open: the failure that led to the current state; null when open. */
  readonly error: Error | null;
  /** What carries the subscriptions now; `transport: 'auto'` starts on `websocket` and may move to `sse`. */
  readonly transport: SubscriptionTransport;
}

export interface ConnectionStateChange {
  readonly prev: ConnectionState;
  readonly next: ConnectionState;
  readonly error: Error | null;
}

export type ConnectionStateListener = (change: ConnectionStateChange) => void;

/** The shape of the state tRPC's `wsClient.connectionState` emits. */
export interface TransportState {
  state: 'idle' | 'connecting' | 'pending';
  error: Error | null;
}

export class ConnectionStateStore {
  private snapshot: ConnectionSnapshot;
  // A throwing listener must not stop the others or break the transport's observable: it is
  // rethrown on its own, where it is reported like any uncaught error.
  private readonly listeners = createListeners<ConnectionStateChange>({ onListenerError: rethrowLater });
  private readonly snapshotListeners = createListeners({ onListenerError: rethrowLater });
  private hasOpened = false;
  private closing = false;
  /** Failed attempts at the first connection, each error counted once. */
  private failedAttempts = 0;
  private lastFailure: Error | null = null;

  constructor(initial: ConnectionState, transport: SubscriptionTransport = 'websocket') {
    this.snapshot = { state: initial, error: null, transport };
  }

  get current(): ConnectionSnapshot {
    return this.snapshot;
  }

  /** Returns its own unsubscribe. */
  subscribe(listener: ConnectionStateListener): () => void {
    return this.listeners.add(listener);
  }

  /** Called on every change of the snapshot (state, or the first error of a failing spell). */
  subscribeToSnapshot(listener: () => void): () => void {
    return this.snapshotListeners.add(listener);
  }

  get listenerCount(): number {
    return this.listeners.size + this.snapshotListeners.size;
  }

  /** Maps one state of the tRPC client onto the union. */
  applyTransport(transport: TransportState): void {
    if (this.snapshot.state === 'closed') return;
    switch (transport.state) {
      case 'pending':
        this.hasOpened = true;
        this.setState('open', null);
        return;
      case 'connecting':
        this.setState(this.hasOpened ? 'reconnecting' : this.firstConnectionState(transport.error), transport.error);
        return;
      case 'idle':
        // tRPC reports idle both before a lazy start and after close(); only ours is final.
        this.setState(this.closing ? 'closed' : 'idle', null);
        return;
    }
  }

  /**
   * Sets the state directly, for transports that work the union out themselves (SSE streams).
   * `closed` stays final.
   */
  applyState(next: Exclude<ConnectionState, 'closed'>, error: Error | null): void {
    if (this.snapshot.state === 'closed') return;
    if (next === 'open') this.hasOpened = true;
    this.setState(next === 'connecting' ? this.firstConnectionState(error) : next, error);
  }

  /** `connecting`, or `failed` once the first connection has failed often enough (and until it opens). */
  private firstConnectionState(error: Error | null): 'connecting' | 'failed' {
    if (error && error !== this.lastFailure) {
      this.lastFailure = error;
      this.failedAttempts++;
    }
    return this.failedAttempts >= failedAfterAttempts ? 'failed' : 'connecting';
  }

  /** Records a change of transport (`auto` falling back): a snapshot change, not a state change. */
  setTransport(transport: SubscriptionTransport): void {
    if (this.snapshot.transport === transport) return;
    this.snapshot = { ...this.snapshot, transport };
    this.snapshotListeners.emit();
  }

  /** Marks the coming `idle` as the end: the client was closed on purpose. */
  markClosing(): void {
    this.closing = true;
  }

  /** Forces the final state (when the transport stays silent, e.g. it never started). */
  markClosed(): void {
    this.closing = true;
    this.setState('closed', null);
  }

  private setState(next: ConnectionState, error: Error | null): void {
    const prev = this.snapshot.state;
    if (prev === next) {
      // The first failure of a bad spell is news (why we cannot connect); later retries only
      // repeat it. It changes the snapshot, not the state.
      if (error && !this.snapshot.error) {
        this.snapshot = { ...this.snapshot, error };
        this.snapshotListeners.emit();
      }
      return;
    }
    this.snapshot = { ...this.snapshot, state: next, error };
    this.listeners.emit({ prev, next, error });
    this.snapshotListeners.emit();
  }
}

function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
