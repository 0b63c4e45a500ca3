/**
 * The vanilla client against a real server on port 0: connection state transitions, the token
 * re-read on reconnect, typed subscriptions, resumption after the server drops the socket, and
 * queries over HTTP with `transport: 'http'`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { createRealtimeClient, serviceEndpoints, readTokenClaims, type ConnectionStateChange, type RealtimeClient } from '../../client/index.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

let t: TestServer;
const clients = new Set<RealtimeClient>();
beforeAll(async () => (t = await startServer()));
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});
afterAll(async () => t.stop());

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function connect(token: string | (() => Promise<string>), extra: { transport?: 'websocket' | 'http'; WebSocket?: typeof globalThis.WebSocket } = {}) {
  const client = createRealtimeClient({
    url: t.url,
    token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 50,
    ...extra,
  });
  clients.add(client);
  return client;
}

describe('serviceEndpoints', () => {
  it('derives both endpoints from either URL', () => {
    expect(serviceEndpoints('http://127.0.0.1:3000')).toEqual({ httpUrl: 'http://127.0.0.1:3000/trpc', wsUrl: 'ws://127.0.0.1:3000/trpc' });
    expect(serviceEndpoints('wss://example.com/trpc')).toEqual({ httpUrl: 'https://example.com/trpc', wsUrl: 'wss://example.com/trpc' });
    // The seed's endpoint is the service's /trpc; an http(s) base path named /ws stays a base path.
    expect(serviceEndpoints('ws://localhost:8000/ws')).toEqual({ httpUrl: 'http://localhost:8000/trpc', wsUrl: 'ws://localhost:8000/trpc' });
    expect(serviceEndpoints('https://example.com/ws')).toEqual({ httpUrl: 'https://example.com/ws/trpc', wsUrl: 'wss://example.com/ws/trpc' });
    expect(serviceEndpoints('https://example.com/realtime/')).toEqual({
      httpUrl: 'https://example.com/realtime/trpc',
      wsUrl: 'wss://example.com/realtime/trpc',
    });
    expect(serviceEndpoints('http://[::1]:8080').wsUrl).toBe('ws://[::1]:8080/trpc');
    expect(() => serviceEndpoints('ftp://example.com')).toThrow(/scheme/);
  });

  it('reads who a token is for without verifying it', async () => {
    expect(readTokenClaims(await t.token('alice'))).toEqual({ userId: 'alice', role: 'user' });
    expect(readTokenClaims(await t.token('root', 'admin'))).toEqual({ userId: 'root', role: 'admin' });
    expect(readTokenClaims('not-a-jwt')).toBeUndefined();
  });
});

describe('connection state', () => {
  it('goes connecting → open → reconnecting → open → closed, emitting only real changes', async () => {
    let tokenReads = 0;
    const token = await t.token('state-user');
    const client = connect(async () => {
      tokenReads++;
      return token;
    });
    const changes: ConnectionStateChange[] = [];
    const stop = client.onStateChange((change) => changes.push(change));
    expect(client.state).toBe('connecting');
    await waitFor(() => client.state === 'open', 'open');
    const snapshot = client.getSnapshot();
    expect(client.getSnapshot()).toBe(snapshot);

    t.dropAll();
    await waitFor(() => changes.some((change) => change.next === 'reconnecting'), 'reconnecting');
    await waitFor(() => client.state === 'open', 'reopened');
    expect(tokenReads).toBeGreaterThanOrEqual(2);
    const reconnecting = changes.find((change) => change.next === 'reconnecting')!;
    expect(reconnecting.prev).toBe('open');
    expect(reconnecting.error).toBeInstanceOf(Error);
    expect(client.error).toBeNull();

    await client.close();
    await client.close();
    expect(client.state).toBe('closed');
    expect(changes.map((change) => change.next)).toEqual(['open', 'reconnecting', 'open', 'closed']);
    for (const change of changes) expect(change.prev).not.toBe(change.next);
    stop();
  });

  it('reports the error while the first connection fails, then the state failed (not an eternal connecting)', async () => {
    const client = createRealtimeClient({
      url: `http://127.0.0.1:${await closedPort()}`,
      token: 'unused',
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      retryDelayMs: () => 20,
    });
    clients.add(client);
    const states: string[] = [];
    client.onStateChange(({ next }) => states.push(next));
    await waitFor(() => client.error, 'a connection error');
    await waitFor(() => client.state === 'failed', 'failed');
    expect(client.error).toBeInstanceOf(Error);
    expect(states).toEqual(['failed']);
    await client.close();
    expect(client.state).toBe('closed');
  });
});

describe('typed subscriptions', () => {
  it('delivers only the asked-for types, narrowed', async () => {
    const client = connect(await t.token('typed-user'));
    const progress: number[] = [];
    let started = false;
    client.subscribeToEvents({ types: ['agent.progress'], onStarted: () => (started = true) }, (event) => {
      progress.push(event.data.progress);
    });
    await waitFor(() => started, 'started');
    const { services } = t.server;
    await services.emitAgentEvent('typed-agent', 'agent.started', 'typed-user', {});
    await services.emitAgentEvent('typed-agent', 'agent.progress', 'typed-user', { progress: 40 });
    await services.emitAgentEvent('typed-agent', 'agent.complete', 'typed-user', {});
    await waitFor(() => progress.length === 1, 'progress');
    await sleep(30);
    expect(progress).toEqual([40]);
  });

  it('reports a failed subscription through onError', async () => {
    const client = connect(await t.token('not-admin'));
    const errors: Error[] = [];
    client.subscribeToEvents({ scope: 'all', onError: (error) => errors.push(error) }, () => {});
    await waitFor(() => errors.length, 'an error');
    expect(errors[0]!.message).toMatch(/admin/);
  });
});

describe('resumption', () => {
  it('delivers what was sent while the server had dropped the socket, exactly once', async () => {
    const client = connect(await t.token('resume-user'));
    const received: RealtimeEvent<'notification.new'>[] = [];
    let starts = 0;
    const stop = client.subscribeToNotifications(
      (event) => {
        if (event.type === 'notification.new') received.push(event);
      },
      { onStarted: () => starts++ },
    );
    await waitFor(() => starts === 1, 'started');
    const { core } = t.server.services;
    const send = (title: string) => core.sendToUser('resume-user', 'notification.new', { title, message: '' });
    await send('before');
    await waitFor(() => received.length === 1, 'first');

    t.dropAll();
    await waitFor(() => client.state === 'reconnecting', 'reconnecting');
    await send('during-1');
    await send('during-2');
    await waitFor(() => starts === 2, 'resubscribed');
    await send('after');
    await waitFor(() => received.length >= 4, 'all four');
    await sleep(50);
    expect(received.map((event) => event.data.title)).toEqual(['before', 'during-1', 'during-2', 'after']);
    stop();
    await waitFor(() => t.server.transport.subscriptionCount === 0, 'subscription stopped on the server');
  });
});

describe("transport: 'http'", () => {
  it('answers queries over HTTP while the socket cannot connect; subscriptions stay on the socket', async () => {
    const deadPort = await closedPort();
    // A WebSocket that always dials a closed port: whatever succeeds went over HTTP.
    class UnreachableWebSocket extends WebSocket {
      constructor(url: string) {
        super(url.replace(/:\d+\//, `:${deadPort}/`));
      }
    }
    const client = connect(await t.token('http-user'), {
      transport: 'http',
      WebSocket: UnreachableWebSocket as unknown as typeof globalThis.WebSocket,
    });
    await expect(client.api.rooms.mine.query()).resolves.toEqual([]);
    await expect(client.api.rooms.join.mutate({ roomId: 'http-room' })).resolves.toMatchObject({ roomId: 'http-room' });
    // The socket never opened: still trying, or given up as failed after a few quick attempts.
    expect(['connecting', 'failed']).toContain(client.state);
  });
});
