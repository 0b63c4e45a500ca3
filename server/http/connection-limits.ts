/**
 * What a TCP connection may cost before it is anyone: issue 13 measured idle and slowloris HTTP
 * sockets kept ~88 s, and 21,000 idle connections exhausting the descriptors so that every
 * legitimate client was locked out. Timeouts close the idle; caps keep one address, and all of
 * them together, below what the process can hold.
 */
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config.js';

/** A request's headers, and the whole request, must arrive in time; checked every second (Node checks every 30 s by default). */
export function socketTimeouts(config: Pick<ServerConfig, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs' | 'httpKeepAliveTimeoutMs'>): ServerOptions {
  return {
    headersTimeout: config.httpHeadersTimeoutMs,
    requestTimeout: config.httpRequestTimeoutMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: 1_000,
  };
}

/** `MAX_CONNECTIONS` in all (past it Node drops new sockets at once), and a cap per address. */
export function limitConnections(server: Server, config: Pick<ServerConfig, 'maxConnections' | 'maxConnectionsPerAddress'>, onRefused: () => void): void {
  server.maxConnections = config.maxConnections;
  limitConnectionsPerAddress(server, config.maxConnectionsPerAddress, onRefused);
}

/**
 * Every TCP connection counts against its address, whatever it becomes (HTTP, SSE, WebSocket,
 * or nothing at all). A little room above the WebSocket limit lets the transport refuse a
 * surplus WebSocket with its close code (4029) rather than a reset.
 */
function limitConnectionsPerAddress(server: Server, limit: number, onRefused: () => void): void {
  const open = new Map<string, number>();
  const ceiling = limit + 16;
  // One listener for every socket, not a closure each, and `on`, not `once` (a socket closes
  // once; `once` wraps the listener in three more objects): ~250 bytes per connection (issue 17).
  // The address is read again at close: net.Socket caches it from the first read.
  function release(this: Socket): void {
    const address = this.remoteAddress ?? 'unknown';
    const remaining = (open.get(address) ?? 1) - 1;
    if (remaining <= 0) open.delete(address);
    else open.set(address, remaining);
  }
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= ceiling) {
      onRefused();
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.on('close', release);
  });
}
