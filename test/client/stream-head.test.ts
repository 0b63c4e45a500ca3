/**
 * Subscriptions start from the server's `streamHead`, against a real server on port 0: one
 * dropped before it has received anything still gets, exactly once, what was published while it
 * was away (over the WebSocket and over SSE); one stopped while the head query is in flight
 * opens nothing; and one whose head query fails still subscribes.
 */
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from '../../client/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import { collectNotifications } from './notifications.js';

let t: TestServer;
const clients = new Set<RealtimeClient>();
beforeAll(async () => (t = await startServer()));
afterEach(async () => {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
  await waitFor(() => t.server.services.core.stats().subscriptions === 0, 'every subscription gone');
});
afterAll(async () => t.stop());

function connect(userId: string, extra: Partial<RealtimeClientOptions> = {}): Promise<RealtimeClient> {
  return t.token(userId).then((token) => {
    const client = createRealtimeClient({
      url: t.url,
      token,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      EventSource,
      // Slow enough that the events below are published while the client is surely away.
      retryDelayMs: () => 300,
      ...extra,
    });
    clients.add(client);
    return client;
  });
}

const attachedSubscriptions = () => t.server.services.core.stats().subscriptions;
const notify = (userId: string, title: string) => t.server.services.core.sendToUser(userId, 'notification.new', { title, message: '' });

describe.each(['websocket', 'sse'] as const)("over '%s'", (transport) => {
  it('delivers what was published while a subscription that had received nothing was away, once', async () => {
    const userId = `quiet-${transport}`;
    // Someone else's event, so the head is not the start of the stream.
    await notify('someone-else', 'not-for-us');
    const client = await connect(userId, { transport });
    const stream = collectNotifications(client);
    await waitFor(() => stream.starts() === 1 && attachedSubscriptions() === 1, 'the subscription attached');

    t.dropAll();
    await notify(userId, 'while-away-1');
    await notify(userId, 'while-away-2');
    await waitFor(() => stream.starts() >= 2, 'resubscribed');
    await waitFor(() => stream.titles.length >= 2, 'the events published while away');
    await notify(userId, 'after');
    await waitFor(() => stream.titles.length >= 3, 'the live event');
    await sleep(50);
    expect(stream.titles).toEqual(['while-away-1', 'while-away-2', 'after']);
    expect(stream.errors).toEqual([]);
    stream.stop();
  });

  it('opens nothing when stopped while the head query is in flight', async () => {
    const client = await connect(`hasty-${transport}`, { transport });
    const stream = collectNotifications(client);
    stream.stop();
    stream.stop();
    await sleep(100);
    expect(stream.starts()).toBe(0);
    expect(attachedSubscriptions()).toBe(0);
    expect(t.server.transport.subscriptionCount).toBe(0);
  });
});

describe('a failed head query', () => {
  it('still subscribes, without a head', async () => {
    const livePort = new URL(t.url).port;
    const deadUrl = await unreachableUrl();
    // Calls go over HTTP to a port nothing listens on; the WebSocket is steered to the server.
    class RedirectedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url.replace(/:\d+\//, `:${livePort}/`));
      }
    }
    const userId = 'headless';
    const client = await connect(userId, {
      url: deadUrl,
      transport: 'http',
      WebSocket: RedirectedWebSocket as unknown as typeof globalThis.WebSocket,
      retryDelayMs: () => 50,
    });
    const stream = collectNotifications(client);
    await waitFor(() => stream.starts() === 1 && attachedSubscriptions() === 1, 'the subscription attached');
    await notify(userId, 'live');
    await waitFor(() => stream.titles.length === 1, 'the event');
    expect(stream.titles).toEqual(['live']);
    expect(stream.errors).toEqual([]);
    stream.stop();
  });
});

/** A loopback URL nothing listens on: a port bound, then released. */
async function unreachableUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
