/**
 * Reconnect storms (issue 17): a server that sheds load or shuts down tells each client when to
 * come back (a retry hint, spread over RECONNECT_SPREAD_MS), and the client library waits for it
 * instead of hammering the server on its short first backoff.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, retryHintOf } from '../../shared/codes.js';
import { createRealtimeClient, type RealtimeClient } from '../../client/index.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

let t: TestServer | undefined;
let client: RealtimeClient | undefined;
afterEach(async () => {
  await client?.close();
  await t?.stop();
  client = undefined;
  t = undefined;
});

describe('retry hints', () => {
  it('a refused client stays away for the hint, then comes back and subscribes', async () => {
    // Hints of 1.5–3 s; the client's own first backoff is 125–250 ms.
    t = await startServer({ maxConnectionsPerAddress: 1, reconnectSpreadMs: 3_000 });
    const holder = t.connect(await t.token('holder'));
    await holder.api.streamHead.query();

    client = createRealtimeClient({ url: t.url, token: await t.token('returning'), WebSocket: WebSocket as never });
    const { counters } = t.server.transport;
    await waitFor(() => counters.refusedConnections >= 1, 'the first refusal');
    // The official client may open two sockets at start (its constructor and the first call).
    await sleep(150);
    const refused = counters.refusedConnections;
    // Longer than several of the client's own backoffs, shorter than any hint: a client that
    // ignored the hint would have been refused again by now.
    await sleep(800);
    expect(counters.refusedConnections).toBe(refused);

    holder.close();
    await waitFor(() => client!.state === 'open', 'the client back after its hint', 10_000);
    // Subscribed once back: tRPC's wsClient errors a subscription sent on a socket the server then refuses.
    const received: string[] = [];
    client.subscribeToNotifications((event) => received.push(event.type));
    const admin = t.http(await t.token('root', 'admin'));
    await waitFor(async () => {
      await admin.admin.send.mutate({ userId: 'returning', type: 'notification.new', data: { title: 'back', message: 'again' } });
      return received.includes('notification.new');
    }, 'a notification on the resubscribed stream');
    expect(counters.refusedConnections).toBe(refused);
  });

  it('on shutdown asks every client to reconnect and closes with 1001, both with a hint within the spread', async () => {
    t = await startServer({ reconnectSpreadMs: 1_000 });
    const socket = await openRawSocket(t.wsUrl, await t.token('leaving'));
    socket.send({ id: 1, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => socket.messages.some((message) => (message as { result?: { type?: string } }).result?.type === 'started'), 'subscribed');
    const server = t;
    t = undefined;
    await server.stop();
    const closed = await socket.closed;
    const notice = socket.messages.find((message) => (message as { method?: string }).method === 'reconnect') as { reason: string };
    expect(closed.code).toBe(CloseCode.GoingAway);
    for (const text of [notice.reason, closed.reason]) {
      const hint = retryHintOf(text);
      expect(hint).toBeGreaterThanOrEqual(500);
      expect(hint).toBeLessThanOrEqual(1_000);
    }
  });
});
