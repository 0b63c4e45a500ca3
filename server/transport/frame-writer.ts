/**
 * Writes pre-framed WebSocket messages (see event-frames.ts) straight to a connection's
 * `net.Socket`, and coalesces each socket's writes within one tick into a single `writev`.
 *
 * Why: past one serialization per event, what a delivery costs is `ws`'s per-send work (an
 * options object, a fresh frame header, cork/write/write/uncork) and above all one syscall per
 * socket per event. The frame bytes are the same for every recipient with the same
 * subscription id, so they are built once; and when a burst fans several events out in one
 * tick, each socket gets them in one syscall instead of one per event.
 *
 * This is the trick engine.io uses for broadcasts (`wsPreEncodedFrame` written through
 * `ws`'s `sender.sendFrame`), with the same preconditions, checked rather than assumed:
 * - no permessage-deflate negotiated (a compressed connection's frames differ per socket);
 * - the sender idle (`_state` DEFAULT): otherwise it may hold queued frames that a direct write
 *   would overtake;
 * - the WebSocket OPEN: after `close()` nothing may follow the close frame.
 * When any of them fails the caller falls back to `ws.send`, so correctness never depends on
 * `ws`'s private fields, only the fast path does. Bytes written here land in the socket's
 * writable buffer, which `ws`'s `bufferedAmount` already counts, so the slow-consumer bound
 * keeps working, corked or not.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** The `ws` internals the fast path reads (ws 8.x: lib/websocket.js, lib/sender.js). */
interface WebSocketInternals {
  _socket?: unknown;
  _sender?: { _state?: unknown };
}

/** `Sender`'s idle state (DEFAULT in ws/lib/sender.js); DEFLATING and GET_BLOB_DATA queue frames. */
const senderIdle = 0;

function isNetSocket(value: unknown): value is Socket {
  return typeof value === 'object' && value !== null && typeof (value as Socket).write === 'function' && typeof (value as Socket).cork === 'function';
}

/**
 * A tick that starts this long after the last flush may flush early (see TickFlusher): at 5
 * events a second the gap is 130 ms or more even at 5,000 sockets. Under load it is not, or the
 * ticks carry several events each (at 5,000 sockets the readers drain a burst for longer than
 * this), which the repeat rule catches.
 */
export const quietBeforeEagerMs = 50;

/**
 * An eager tick flushes its corked sockets in chunks of this many while the fan-out goes on, so
 * that readers start on their frame while the rest are written.
 */
const earlyFlushEvery = 256;

/**
 * Uncorks the sockets corked during the current tick.
 *
 * Under load every socket stays corked until the tick's work is done: a burst of events fanned
 * out in one tick then costs one `writev` per socket, and the readers, the bottleneck at full
 * speed, get more per read (flushing every tick early cost up to 30% more CPU per delivery and
 * a third fewer deliveries a second). A server at rest gains nothing by waiting, though: one
 * event into a large room reached its first reader only after the whole fan-out (9 ms at 5,000
 * sockets, where Socket.IO's per-socket writes start at once), and its last one that much later.
 *
 * So a tick is eager when it starts `quietBeforeEagerMs` after the last flush and the last tick
 * wrote no socket twice: it flushes every `earlyFlushEvery` sockets as its fan-out goes on, until
 * it writes a socket twice (a burst after all), from where it holds the rest to the tick's end,
 * and so does the next tick. Measured in docs/performance/large-rooms.md.
 */
export class TickFlusher {
  private pending: ConnectionFrameWriter[] = [];
  private flushedEarly: ConnectionFrameWriter[] = [];
  private scheduled = false;
  private eager = false;
  /** The last tick wrote a socket twice: a burst, whose next tick is most likely one too. */
  private lastTickRepeated = false;
  private repeated = false;
  private lastFlushAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = () => performance.now()) {}

  schedule(writer: ConnectionFrameWriter): void {
    this.pending.push(writer);
    if (!this.scheduled) {
      this.scheduled = true;
      this.eager = !this.lastTickRepeated && this.now() - this.lastFlushAt >= quietBeforeEagerMs;
      // nextTick runs after the microtasks of the current macrotask: every fan-out started by one
      // batch of incoming messages (each an async tRPC call) has written by then.
      process.nextTick(this.flush);
    }
    if (this.eager && this.pending.length >= earlyFlushEvery) {
      const writers = this.pending;
      this.pending = [];
      for (const early of writers) {
        early.uncork(true);
        this.flushedEarly.push(early);
      }
    }
  }

  /** A socket was written a second time in this tick: hold the rest to the tick's end, and the next tick. */
  noteRepeat(): void {
    this.eager = false;
    this.repeated = true;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const writers = this.pending;
    this.pending = [];
    for (const writer of writers) writer.uncork(false);
    for (const writer of this.flushedEarly) writer.endTick();
    this.flushedEarly = [];
    this.lastFlushAt = this.now();
    this.lastTickRepeated = this.repeated;
    this.repeated = false;
  };
}

export class ConnectionFrameWriter {
  private corked = false;
  /** Flushed early in the current tick (see TickFlusher): a later write in the tick is a repeat. */
  private flushedEarly = false;

  private constructor(
    private readonly webSocket: WebSocket,
    private readonly socket: Socket,
    private readonly sender: { _state?: unknown },
    private readonly flusher: TickFlusher,
  ) {}

  /** A writer for this connection, or undefined when the fast path's preconditions cannot hold. */
  static for(webSocket: WebSocket, flusher: TickFlusher): ConnectionFrameWriter | undefined {
    const internals = webSocket as unknown as WebSocketInternals;
    if (webSocket.extensions !== '') return undefined;
    if (!isNetSocket(internals._socket) || typeof internals._sender?._state !== 'number') return undefined;
    return new ConnectionFrameWriter(webSocket, internals._socket, internals._sender, flusher);
  }

  /** Writes one complete frame; false (nothing written) when the caller must use `ws.send`. */
  write(frame: Buffer): boolean {
    if (this.webSocket.readyState !== WebSocket.OPEN || this.sender._state !== senderIdle || this.socket.destroyed) return false;
    if (this.corked || this.flushedEarly) this.flusher.noteRepeat();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.flusher.schedule(this);
    }
    this.socket.write(frame);
    return true;
  }

  /** `early`: while the tick's fan-out goes on (TickFlusher). */
  uncork(early: boolean): void {
    if (!this.corked) return;
    this.corked = false;
    if (early) this.flushedEarly = true;
    this.socket.uncork();
  }

  endTick(): void {
    this.flushedEarly = false;
  }
}
