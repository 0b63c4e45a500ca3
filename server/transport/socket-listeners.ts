/**
 * One set of WebSocket listeners shared by every connection, called with the WebSocket as
 * `this`, instead of four closures per connection: with the context they shared, those were
 * ~260 bytes of every connection's heap; the WeakMap entry that replaces them costs ~30 (heap
 * snapshots at 2,000 connections, issue 17). Each socket's connection is found in a WeakMap
 * rather than in a property of ws's object, whose shape stays its own; the entry goes with the
 * socket.
 */
import type { RawData, WebSocket } from 'ws';

/** What a connection does with its socket's events. */
export interface SocketListener {
  /** Set by any pong (and, by the listener itself, any message): the ping sweep's liveness flag. */
  alive: boolean;
  onSocketMessage(data: Buffer, isBinary: boolean): void;
  /**
   * Bad frames, RSV bits, frames past maxPayload (ws#1354): an 'error' event without a listener
   * would bring the process down.
   */
  onSocketError(error: Error): void;
  onSocketClose(): void;
}

const listenerOfSocket = new WeakMap<WebSocket, SocketListener>();

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  // Text and binary frames arrive as one Buffer: ws's default binaryType, never changed here.
  listenerOfSocket.get(this)?.onSocketMessage(data as Buffer, isBinary);
}

function onPong(this: WebSocket): void {
  const listener = listenerOfSocket.get(this);
  if (listener) listener.alive = true;
}

function onError(this: WebSocket, error: Error): void {
  listenerOfSocket.get(this)?.onSocketError(error);
}

function onClose(this: WebSocket): void {
  listenerOfSocket.get(this)?.onSocketClose();
}

export function listenToSocket(socket: WebSocket, listener: SocketListener): void {
  listenerOfSocket.set(socket, listener);
  socket.on('message', onMessage);
  socket.on('pong', onPong);
  socket.on('error', onError);
  // `on`, not `once`: a WebSocket closes once, and `once` wraps the listener in three more objects.
  socket.on('close', onClose);
}
