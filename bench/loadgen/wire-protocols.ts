/**
 * The three servers' wire protocols, spoken with bare `ws` sockets so that one load generator
 * can hold thousands of clients cheaply and pay the same per-message cost for every server.
 *
 * For our server this is tRPC's WebSocket protocol exactly as `@trpc/client`'s wsLink speaks it
 * (`?connectionParams=1`, a `connectionParams` message, then a `subscription` request with a
 * superjson input); `verify-official-clients.ts` checks once per run that the official client
 * gets the same events. For Socket.IO it is Engine.IO v4 / Socket.IO v5 over the websocket
 * transport (open `0`, connect `40`, events `42[...]`, ping `2` answered by pong `3`).
 */
import type WebSocket from 'ws';
import { benchRoomId, type ServerKind, type TargetInfo } from '../contracts.js';

export type Role = 'subscriber' | 'publisher';

/** What the handshake made of one incoming message. */
export type HandshakeStep = 'ready' | 'pending' | { error: string };

export interface WireProtocol {
  url(target: TargetInfo, role: Role): string;
  /** `token`: the subscriber's own (distinct users); otherwise the target's shared one. */
  onOpen(socket: WebSocket, target: TargetInfo, role: Role, token?: string): void;
  /** The publisher may publish as soon as its socket opens (no answer to wait for). */
  publisherReadyOnOpen: boolean;
  /** Called for each message until it returns 'ready' or an error. */
  handshake(socket: WebSocket, data: Buffer, role: Role): HandshakeStep;
  /** Answers protocol housekeeping (pings); returns true when the message was only that. */
  housekeeping(socket: WebSocket, data: Buffer): boolean;
  /** Publishes one event whose notification message is `message`. */
  publish(socket: WebSocket, message: string, sequence: number): void;
}

const includes = (data: Buffer, text: string) => data.indexOf(text) !== -1;

const trpc: WireProtocol = {
  url: (target) => `${target.wsUrl}?connectionParams=1`,
  publisherReadyOnOpen: true,
  onOpen(socket, target, role, ownToken) {
    const token = role === 'publisher' ? target.adminToken : (ownToken ?? target.viewerToken);
    socket.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
    if (role === 'subscriber') {
      socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId: benchRoomId } } } }));
    }
  },
  handshake(_socket, data) {
    if (includes(data, '"error"')) return { error: data.toString().slice(0, 300) };
    return includes(data, '"type":"started"') ? 'ready' : 'pending';
  },
  housekeeping: () => false,
  publish(socket, message, sequence) {
    socket.send(
      JSON.stringify({
        id: sequence,
        method: 'mutation',
        params: { path: 'admin.broadcast', input: { json: { roomId: benchRoomId, type: 'notification.new', data: { title: 'bench', message } } } },
      }),
    );
  },
};

const rawWs: WireProtocol = {
  url: (target, role) => `${target.wsUrl}?role=${role}`,
  publisherReadyOnOpen: true,
  onOpen: () => undefined,
  handshake: (_socket, data) => (data.toString() === 'ready' ? 'ready' : 'pending'),
  housekeeping: () => false,
  publish(socket, message) {
    socket.send(JSON.stringify({ type: 'notification.new', data: { title: 'bench', message } }));
  },
};

const engineIoPing = 0x32; // '2'

/** `socketio-jwt`: each subscriber's own token, sent in the Socket.IO connect packet's auth. */
const socketIoTokens = new WeakMap<WebSocket, string>();

const socketIo: WireProtocol = {
  url: (target) => target.wsUrl,
  publisherReadyOnOpen: false,
  onOpen(socket, _target, _role, token) {
    if (token !== undefined) socketIoTokens.set(socket, token);
  },
  handshake(socket, data, role) {
    const text = data.toString();
    if (text.startsWith('0{')) {
      const token = socketIoTokens.get(socket);
      socket.send(role === 'publisher' ? '40{"role":"publisher"}' : token === undefined ? '40' : `40${JSON.stringify({ token })}`);
      return 'pending';
    }
    if (text.startsWith('44')) return { error: text.slice(0, 300) };
    if (role === 'publisher' && text.startsWith('40')) return 'ready';
    if (text === '42["ready"]') return 'ready';
    if (text === '2') socket.send('3');
    return 'pending';
  },
  housekeeping(socket, data) {
    if (data.length === 1 && data[0] === engineIoPing) {
      socket.send('3');
      return true;
    }
    return false;
  },
  publish(socket, message) {
    socket.send(`42${JSON.stringify(['publish', { type: 'notification.new', data: { title: 'bench', message } }])}`);
  },
};

export const wireProtocols: Record<ServerKind, WireProtocol> = { trpc, ws: rawWs, socketio: socketIo, 'socketio-jwt': socketIo };
