/**
 * One URL in, both endpoints out: callers pass the service's base URL (`http://host:port`) or
 * the WebSocket URL of `/trpc`, and the client derives the other, so there is one thing to
 * configure and nothing to get out of step.
 */

export interface ServiceEndpoints {
  /** tRPC over HTTP, e.g. `http://127.0.0.1:3000/trpc`. */
  httpUrl: string;
  /** tRPC over WebSocket, e.g. `ws://127.0.0.1:3000/trpc`. */
  wsUrl: string;
}

const trpcPath = '/trpc';
/** The seed's WebSocket endpoint (`ws://host:8000/ws`): a ws(s) URL ending in it means the service's own `/trpc`. */
const seedWebSocketPath = /\/ws$/;

/**
 * Accepts `http(s)://host[:port][/base]`, `ws(s)://host[:port]/trpc`, the seed's
 * `ws(s)://host[:port]/ws` (read as `…/trpc`), or (in a browser) a relative path such as `/`,
 * resolved against the page's location.
 */
export function serviceEndpoints(url: string): ServiceEndpoints {
  const base = typeof globalThis.location === 'object' && globalThis.location ? globalThis.location.href : undefined;
  const parsed = new URL(url, base);
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new TypeError(`Unsupported URL scheme in ${url}: use http(s):// or ws(s)://`);
  }
  let path = parsed.pathname.replace(/\/+$/, '');
  const webSocketUrl = parsed.protocol === 'ws:' || parsed.protocol === 'wss:';
  if (webSocketUrl && seedWebSocketPath.test(path)) path = path.replace(seedWebSocketPath, trpcPath);
  if (!path.endsWith(trpcPath)) path = `${path}${trpcPath}`;
  // `host` keeps IPv6 brackets and drops a default port.
  const origin = parsed.host;
  return {
    httpUrl: `${secure ? 'https' : 'http'}://${origin}${path}`,
    wsUrl: `${secure ? 'wss' : 'ws'}://${origin}${path}`,
  };
}
