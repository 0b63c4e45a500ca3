/**
 * The connection state of a client whose subscriptions travel as Server-Sent Events. There is
 * no one connection: each subscription is its own HTTP stream. The client's state is worked out
 * from theirs, so it reads like the WebSocket's: `open` while the streams are open and none is
 * failing, `reconnecting` while one that was lost is retrying, `idle` with no stream at all.
 */
import type { ConnectionState } from '../connection-state.js';

interface StreamState {
  /** The stream is open now (the server sent `connected`). */
  open: boolean;
  /** Why it is not open; null for a stream still making its first attempt. */
  error: Error | null;
}

export type StreamStatesListener = (state: Exclude<ConnectionState, 'closed'>, error: Error | null) => void;

export class StreamStates {
  private readonly streams = new Map<number, StreamState>();
  private everOpened = false;

  /** @param onChange called with the client's state after every change of a stream. */
  constructor(private readonly onChange: StreamStatesListener) {}

  /**
   * A stream starting an attempt. A new one is not open and not failing (it does not hold the
   * others back); one that is retrying stays failing until it opens.
   */
  add(streamId: number): void {
    if (this.streams.has(streamId)) return;
    this.streams.set(streamId, { open: false, error: null });
    this.publish();
  }

  opened(streamId: number): void {
    if (!this.streams.has(streamId)) return;
    this.everOpened = true;
    this.streams.set(streamId, { open: true, error: null });
    this.publish();
  }

  failed(streamId: number, error: Error): void {
    if (!this.streams.has(streamId)) return;
    this.streams.set(streamId, { open: false, error });
    this.publish();
  }

  remove(streamId: number): void {
    if (this.streams.delete(streamId)) this.publish();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Works out the client's state from its streams' and reports it. */
  publish(): void {
    const states = [...this.streams.values()];
    const failing = states.find((stream) => !stream.open && stream.error);
    if (states.length === 0) this.onChange('idle', null);
    else if (failing) this.onChange(this.everOpened ? 'reconnecting' : 'connecting', failing.error);
    else if (states.some((stream) => stream.open)) this.onChange('open', null);
    else this.onChange('connecting', null);
  }
}
