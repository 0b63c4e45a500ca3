/**
 * One subscription per distinct stream per provider: every hook that wants `onRoom(room-1)`
 * shares one server subscription, counted by listeners. The last listener leaving releases it
 * after the current task, so React StrictMode's mount → unmount → mount (all in one commit)
 * reuses the live subscription instead of stopping and restarting it, and a room is not left and
 * re-joined just because a component re-mounted.
 */
import type { StreamHandlers, Unsubscribe } from '../event-streams.js';

export interface StreamListener<E> {
  onEvent: (event: E) => void;
  /** The server accepted the subscription; again after every reconnect. Called at once for a late listener. */
  onStarted?: () => void;
  onGap?: () => void;
  onError?: (error: Error) => void;
}

/** Opens the underlying subscription; the hub passes a fan-out as the handler. */
export type StreamStarter<E> = (onEvent: (event: E) => void, handlers: StreamHandlers) => Unsubscribe;

interface StreamEntry {
  readonly listeners: Set<StreamListener<never>>;
  stop: Unsubscribe | undefined;
  started: boolean;
  releaseTimer: ReturnType<typeof setTimeout> | undefined;
}

export class StreamHub {
  private readonly streams = new Map<string, StreamEntry>();

  /** @param releaseDelayMs how long an unused stream stays open for a listener that comes straight back. */
  constructor(private readonly releaseDelayMs = 0) {}

  /** Adds a listener to the stream `key`, starting it if needed. Returns its own unsubscribe. */
  listen<E>(key: string, start: StreamStarter<E>, listener: StreamListener<E>): Unsubscribe {
    let entry = this.streams.get(key);
    if (!entry) {
      entry = { listeners: new Set(), stop: undefined, started: false, releaseTimer: undefined };
      this.streams.set(key, entry);
    }
    clearTimeout(entry.releaseTimer);
    entry.releaseTimer = undefined;
    const own = entry;
    own.listeners.add(listener as StreamListener<never>);
    if (!own.stop) own.stop = start((event) => this.fanOut(own, (each) => each.onEvent(event as never)), this.handlersFor(key, own));
    else if (own.started) listener.onStarted?.();

    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      own.listeners.delete(listener as StreamListener<never>);
      if (own.listeners.size > 0 || this.streams.get(key) !== own) return;
      own.releaseTimer = setTimeout(() => this.release(key, own), this.releaseDelayMs);
    };
  }

  /** Streams currently open (for tests and the dashboard's diagnostics). */
  get openStreamCount(): number {
    return this.streams.size;
  }

  /** Stops every stream (the provider is going away). */
  close(): void {
    for (const [key, entry] of this.streams) this.release(key, entry);
  }

  private handlersFor(key: string, entry: StreamEntry): StreamHandlers {
    return {
      onStarted: () => {
        entry.started = true;
        this.fanOut(entry, (each) => each.onStarted?.());
      },
      onGap: () => this.fanOut(entry, (each) => each.onGap?.()),
      onError: (error) => {
        // The subscription is over; forget it so the next listener starts a fresh one.
        if (this.streams.get(key) === entry) this.streams.delete(key);
        entry.stop = undefined;
        entry.started = false;
        this.fanOut(entry, (each) => each.onError?.(error));
      },
    };
  }

  private release(key: string, entry: StreamEntry): void {
    clearTimeout(entry.releaseTimer);
    if (this.streams.get(key) === entry) this.streams.delete(key);
    const stop = entry.stop;
    entry.stop = undefined;
    stop?.();
  }

  /** One throwing handler must not starve the others, nor tear down the shared subscription. */
  private fanOut(entry: StreamEntry, call: (listener: StreamListener<never>) => void): void {
    for (const listener of [...entry.listeners]) {
      try {
        call(listener);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
