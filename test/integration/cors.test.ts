/**
 * CORS_ORIGINS: requests without an Origin (not a browser) and from the service's own origin
 * always pass; a listed origin gets CORS headers on HTTP, SSE and preflight and may open a
 * WebSocket; any other origin is refused (403) on all of them.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../support/server.js';

const allowed = 'http://app.example.test:5173';
let listed: TestServer;
let sameOriginOnly: TestServer;
beforeAll(async () => {
  [listed, sameOriginOnly] = await Promise.all([startServer({ corsOrigins: [allowed] }), startServer()]);
});
afterAll(async () => Promise.all([listed.stop(), sameOriginOnly.stop()]));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function send(url: string, method: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      response.destroy();
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Resolves with 'open' or the refusal's HTTP status. */
function openSocket(wsUrl: string, origin: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, origin === undefined ? {} : { origin });
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve(String(response.statusCode));
      socket.terminate();
    });
    socket.on('error', () => undefined);
  });
}

describe('CORS and the Origin allow-list', () => {
  it('answers a listed origin with CORS headers on preflight, queries and SSE', async () => {
    const preflight = await send(`${listed.url}/trpc/streamHead`, 'OPTIONS', {
      origin: allowed,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization, trpc-accept',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-headers']).toBe('authorization, trpc-accept');
    const token = await listed.token('alice');
    const query = await send(`${listed.url}/trpc/streamHead`, 'GET', { origin: allowed, authorization: `Bearer ${token}` });
    expect(query.status).toBe(200);
    expect(query.headers['access-control-allow-origin']).toBe(allowed);
    const input = encodeURIComponent(JSON.stringify({ json: {} }));
    const params = encodeURIComponent(JSON.stringify({ token }));
    const sse = await send(`${listed.url}/trpc/onNotification?input=${input}&connectionParams=${params}`, 'GET', { origin: allowed });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toContain('text/event-stream');
    expect(sse.headers['access-control-allow-origin']).toBe(allowed);
  });

  it('refuses other origins on HTTP, preflight and WebSocket, and lets non-browser and same-origin requests through', async () => {
    for (const server of [listed, sameOriginOnly]) {
      expect((await send(`${server.url}/healthz`, 'GET', { origin: 'http://evil.test' })).status).toBe(403);
      expect((await send(`${server.url}/trpc/streamHead`, 'OPTIONS', { origin: 'http://evil.test' })).status).toBe(403);
      expect(await openSocket(server.wsUrl, 'http://evil.test')).toBe('403');
      expect(await openSocket(server.wsUrl, undefined)).toBe('open');
      expect(await openSocket(server.wsUrl, server.url)).toBe('open');
      const own = await send(`${server.url}/healthz`, 'GET', { origin: server.url });
      expect(own.status).toBe(200);
      expect(own.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(await openSocket(listed.wsUrl, allowed)).toBe('open');
    expect(await openSocket(sameOriginOnly.wsUrl, allowed)).toBe('403');
  });
});
