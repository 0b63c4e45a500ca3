/**
 * Who may read `/metrics`. By default it is served on the service port to anyone (as a
 * Prometheus scrape target expects); the numbers describe the service's load and users, so an
 * operator can move it to a port of its own (`METRICS_PORT`, on `METRICS_HOST`, loopback by
 * default, where only that port serves it) or require a bearer token (`METRICS_TOKEN`), or both.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { bearerToken } from '../api/auth.js';
import { setSecurityHeaders } from './security-headers.js';

export interface MetricsAccess {
  /** A port of its own for `/metrics` (0 picks a free one); undefined serves it on the service port. */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** When set, `/metrics` answers 401 without `Authorization: Bearer <token>`. */
  token?: string;
}

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function sameToken(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function createMetricsHandler(registry: Registry, access: MetricsAccess) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (access.token !== undefined && !sameToken(bearerToken(request.headers.authorization), access.token)) {
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      response.end(JSON.stringify({ error: 'Metrics need a bearer token (METRICS_TOKEN)' }));
      return;
    }
    const body = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType });
    response.end(body);
  };
}

/** The separate metrics listener: `GET /metrics` and nothing else. */
export async function startMetricsServer(
  handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  access: MetricsAccess & { port: number },
  onError: (error: unknown, context: string) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    setSecurityHeaders(response);
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'Not found' }));
      return;
    }
    handler(request, response).catch((error: unknown) => {
      onError(error, 'metrics');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.on('clientError', (_error, socket) => socket.destroy());
  const host = access.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(access.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` };
}
