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

/** Uncorks every socket corked during the current tick, once, after the tick's work is done. */
export class TickFlusher {
  private pending: ConnectionFrameWriter[] = [];
  private scheduled = false;

  schedule(writer: ConnectionFrameWriter): void {
    this.pending.push(writer);
    if (this.scheduled) return;
    this.scheduled = true;
    // nextTick runs after the microtasks of the current macrotask: every fan-out started by one
    // batch of incoming messages (each an async tRPC call) has written by then.
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const writers = this.pending;
    this.pending = [];
    for (const writer of writers) writer.uncork();
  };
}

export class ConnectionFrameWriter {
  private corked = false;

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
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.flusher.schedule(this);
    }
    this.socket.write(frame);
    return true;
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }
}
