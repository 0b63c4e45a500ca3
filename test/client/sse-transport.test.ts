/**
 * The vanilla client where WebSockets cannot go, against a real server on port 0:
 * `transport: 'sse'` (streams, state, resumption after the server drops every connection, the
 * token read again for each new stream, server-decided errors final), and `transport: 'auto'`
 * falling back to SSE when the upgrade is refused or never answered, then still receiving and
 * resuming; and staying on the WebSocket where it works.
 */
import { EventSource } from 'eventsource';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRealtimeClient, type ConnectionStateChange, type RealtimeClient, type RealtimeClientOptions } from '../../client/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import { collectNotifications } from './notifications.js';

const clients = new Set<RealtimeClient>();
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
});

function connect(t: TestServer, token: RealtimeClientOptions['token'], extra: Partial<RealtimeClientOptions> = {}): RealtimeClient {
  const client = createRealtimeClient({
    url: t.url,
    token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    EventSource,
    retryDelayMs: () => 50,
    ...extra,
  });
  clients.add(client);
  return client;
}

/** Streams the core counts as connections (an SSE stream is one; a WebSocket is one). */
const coreConnections = (t: TestServer) => t.server.services.core.localConnectionCount;
const coreSubscriptions = (t: TestServer) => t.server.services.core.stats().subscriptions;

/** Sends while the client is away, then checks that it resumes with everything, once, in order. */
async function expectResumeWithoutLoss(t: TestServer, client: RealtimeClient, userId: string) {
  const stream = collectNotifications(client);
  await waitFor(() => coreSubscriptions(t) === 1, 'the subscription attached on the server');
  const send = (title: string) => t.server.services.core.sendToUser(userId, 'notification.new', { title, message: '' });
  await send('before');
  await waitFor(() => stream.titles.length === 1, 'the first event');

  t.dropAll();
  await send('while-away-1');
  await send('while-away-2');
  await waitFor(() => stream.starts() >= 2, 'resubscribed');
  await waitFor(() => coreSubscriptions(t) === 1, 'the subscription attached again');
  await send('after');
  await waitFor(() => stream.titles.length >= 4, 'all four events');
  await sleep(50);
  expect(stream.titles).toEqual(['before', 'while-away-1', 'while-away-2', 'after']);
  expect(stream.errors).toEqual([]);
  return stream;
}

describe("transport: 'sse'", () => {
  let t: TestServer;
  beforeAll(async () => (t = await startServer()));
  afterAll(async () => t.stop());

  it('receives over SSE without any WebSocket, and answers queries over HTTP', async () => {
    const client = connect(t, await t.token('sse-user'), { transport: 'sse' });
    expect(client.transport).toBe('sse');
    // No subscription, no connection.
    expect(client.state).toBe('idle');
    await expect(client.api.rooms.join.mutate({ roomId: 'sse-room' })).resolves.toMatchObject({ roomId: 'sse-room' });

    const progress: number[] = [];
    client.subscribeToAgent({ agentId: 'sse-agent' }, (event) => {
      if (event.type === 'agent.progress') progress.push(event.data.progress);
    });
    await waitFor(() => client.state === 'open', 'open');
    await waitFor(() => coreSubscriptions(t) === 1, 'the subscription attached');
    await t.server.services.emitAgentEvent('sse-agent', 'agent.progress', 'sse-user', { progress: 30 });
    await waitFor(() => progress.length === 1, 'the progress event');
    expect(progress).toEqual([30]);
    expect(t.server.transport.connectionCount).toBe(0);
    // The stream is a connection for presence: the user is online while it is open.
    await expect(client.api.presence.get.query({ userId: 'sse-user' })).resolves.toMatchObject({ status: 'online' });

    await client.close();
    expect(client.state).toBe('closed');
    await waitFor(() => coreConnections(t) === 0, 'the stream closed on the server');
    expect(coreSubscriptions(t)).toBe(0);
  });

  it('resumes without loss after the server drops every connection, reading the token again', async () => {
    const token = await t.token('sse-resume');
    let tokenReads = 0;
    const client = connect(
      t,
      async () => {
        tokenReads++;
        return token;
      },
      { transport: 'sse' },
    );
    const changes: ConnectionStateChange[] = [];
    client.onStateChange((change) => changes.push(change));
    const readsBefore = () => tokenReads;

    const stream = await expectResumeWithoutLoss(t, client, 'sse-resume');
    expect(readsBefore()).toBeGreaterThanOrEqual(2);
    await waitFor(() => client.state === 'open', 'open again');
    expect(changes.map((change) => change.next)).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    expect(changes[2]!.error).toBeInstanceOf(Error);

    stream.stop();
    await waitFor(() => coreSubscriptions(t) === 0, 'the subscription stopped on the server');
    await waitFor(() => client.state === 'idle', 'idle without streams');
  });

  it('ends a subscription the server refuses, without retrying it', async () => {
    const client = connect(t, await t.token('sse-not-admin'), { transport: 'sse' });
    const errors: Error[] = [];
    client.subscribeToEvents({ scope: 'all', onError: (error) => errors.push(error) }, () => {});
    await waitFor(() => errors.length, 'an error');
    expect(errors[0]!.message).toMatch(/admin/);
    await sleep(200);
    expect(errors).toHaveLength(1);
    expect(client.state).toBe('idle');
  });

  it("starts on SSE with 'auto' in a runtime without any WebSocket", async () => {
    const client = connect(t, await t.token('auto-no-socket'), { transport: 'auto', WebSocket: undefined });
    expect(client.transport).toBe('sse');
    const stream = collectNotifications(client);
    await waitFor(() => client.state === 'open' && coreSubscriptions(t) === 1, 'open over SSE');
    await t.server.services.core.sendToUser('auto-no-socket', 'notification.new', { title: 'no socket needed', message: '' });
    await waitFor(() => stream.titles.length === 1, 'the event');
    expect(t.server.transport.connectionCount).toBe(0);
  });

  it('says what is missing when there is no EventSource', () => {
    expect(() => createRealtimeClient({ url: t.url, token: 'unused', transport: 'sse' })).toThrow(/EventSource/);
  });
});

describe("transport: 'auto'", () => {
  it('stays on the WebSocket where it works', async () => {
    const t = await startServer();
    try {
      const client = connect(t, await t.token('auto-ws'), { transport: 'auto' });
      const stream = collectNotifications(client);
      await waitFor(() => client.state === 'open' && coreSubscriptions(t) === 1, 'open with the subscription attached');
      await t.server.services.core.sendToUser('auto-ws', 'notification.new', { title: 'over the socket', message: '' });
      await waitFor(() => stream.titles.length === 1, 'the event');
      expect(client.transport).toBe('websocket');
      expect(t.server.transport.connectionCount).toBe(1);
      await client.close();
    } finally {
      await t.stop();
    }
  });

  it('falls back to SSE when the upgrade is refused, then receives and resumes', async () => {
    const t = await startServer();
    const refused: unknown[] = [];
    t.server.httpServer.removeAllListeners('upgrade');
    t.server.httpServer.on('upgrade', (request, socket: Socket) => {
      refused.push(request.url);
      socket.destroy();
    });
    try {
      const client = connect(t, await t.token('auto-refused'), { transport: 'auto' });
      // Subscribed while the WebSocket is still being tried: the subscription moves with the fallback.
      await expectResumeWithoutLoss(t, client, 'auto-refused');
      expect(client.transport).toBe('sse');
      expect(refused.length).toBeGreaterThanOrEqual(2);
      const attemptsAtFallback = refused.length;
      await waitFor(() => client.state === 'open', 'open');
      await sleep(200);
      // It stays on SSE: no more upgrade attempts.
      expect(refused.length).toBe(attemptsAtFallback);
      await expect(client.api.presence.get.query({ userId: 'auto-refused' })).resolves.toMatchObject({ status: 'online' });
    } finally {
      await t.stop();
    }
  });

  it('falls back when the upgrade is never answered', async () => {
    const t = await startServer();
    const held = new Set<Socket>();
    t.server.httpServer.removeAllListeners('upgrade');
    t.server.httpServer.on('upgrade', (_request, socket: Socket) => held.add(socket));
    try {
      const client = connect(t, await t.token('auto-held'), { transport: 'auto', autoFallback: { timeoutMs: 300 } });
      const stream = collectNotifications(client);
      await waitFor(() => client.transport === 'sse', 'the fallback');
      await waitFor(() => client.state === 'open' && coreSubscriptions(t) === 1, 'open over SSE');
      await t.server.services.core.sendToUser('auto-held', 'notification.new', { title: 'over SSE', message: '' });
      await waitFor(() => stream.titles.length === 1, 'the event');
      expect(held.size).toBe(1);
    } finally {
      for (const socket of held) socket.destroy();
      await t.stop();
    }
  });
});
