/**
 * Which browser origins may use the service (CORS_ORIGINS). A request without an Origin header
 * is not from a browser page (curl, a backend, the producer in Node) and is always let through:
 * tokens, not origins, authenticate. A browser request carries its page's origin:
 * - its own origin (the page the service serves, or a proxy passing Host through) is allowed;
 * - an origin in the allow-list gets CORS headers (HTTP, SSE, preflight) and may open a WebSocket;
 * - any other gets 403 (HTTP, SSE, preflight) without CORS headers, and 403 on a WebSocket
 *   upgrade, which browsers do not restrict by themselves (cross-site WebSocket hijacking).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface OriginPolicy {
  /** Whether a request from this Origin header may proceed (undefined: not a browser). */
  allows(request: IncomingMessage): boolean;
  /**
   * Adds the CORS headers an allowed cross-origin request needs; answers a preflight (OPTIONS)
   * and refuses a request from an origin not allowed by itself. Returns true when it answered.
   */
  handleCors(request: IncomingMessage, response: ServerResponse): boolean;
}

/** The Origin of the service itself, as the browser saw it: the scheme is not known behind a proxy, so only the host is compared. */
function isSameOrigin(origin: string, request: IncomingMessage): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** @param allowed origins (`https://app.example.com`, no path), or `*` for any origin. Empty: same-origin only. */
export function createOriginPolicy(allowed: readonly string[]): OriginPolicy {
  const any = allowed.includes('*');
  const origins = new Set(allowed.map((origin) => origin.replace(/\/+$/, '')));
  const isListed = (origin: string) => any || origins.has(origin);
  return {
    allows(request) {
      const origin = request.headers.origin;
      return origin === undefined || isSameOrigin(origin, request) || isListed(origin);
    },
    handleCors(request, response) {
      const origin = request.headers.origin;
      if (origin === undefined || isSameOrigin(origin, request)) return false;
      response.setHeader('vary', 'Origin');
      if (!isListed(origin)) {
        // Refused outright, not merely left without headers: the browser would hide the answer,
        // but an SSE stream would still open (and count as the user's connection).
        response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Origin not allowed' }));
        return true;
      }
      response.setHeader('access-control-allow-origin', origin);
      if (request.method !== 'OPTIONS') return false;
      // Whatever headers the client asks for (Authorization, content-type, tRPC's own): the token decides, not the header list.
      response.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': request.headers['access-control-request-headers'] ?? 'authorization, content-type',
        'access-control-max-age': '600',
      });
      response.end();
      return true;
    },
  };
}
