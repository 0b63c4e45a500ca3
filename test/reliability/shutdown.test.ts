/**
 * Issue 6, item 3 (one process): SIGTERM on the real entry point (dist/server/main.js, what `npm start`
 * runs after building the dashboard) stops accepting, tells every client to reconnect (tRPC's
 * reconnect notification), answers the calls it already received, closes the sockets (1001) and
 * exits 0 within main.ts's 10 s deadline. Redis and moving clients between processes come with
 * the multi-process work.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode } from '../../shared/codes.js';
import { openRawSocket, type RawSocket } from '../support/raw-socket.js';
import { startServerProcess, type ServerProcess } from '../support/main-process.js';
import { startServer, testTokens } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { asResponses, connectionParamsMessage, eventOf, openPlainSocket } from './support/clients.js';

const authSecret = 'shutdown-test-secret-0123456789';
const shutdownDeadlineMs = 10_000;
let main: ServerProcess | undefined;
afterEach(() => {
  if (main && main.child.exitCode === null && main.child.signalCode === null) main.child.kill('SIGKILL');
});

const isReconnectNotice = (message: unknown) => (message as { method?: string }).method === 'reconnect';

describe('graceful shutdown', () => {
  it('on SIGTERM answers what it received, asks clients to reconnect, closes with 1001 and exits 0 within the deadline', async () => {
    // The real entry point, as `npm start` runs it (compiled).
    main = await startServerProcess({ AUTH_SECRET: authSecret, NODE_ENV: 'production' });
    const { wsUrl, exited } = main;
    const tokens = testTokens(authSecret);
    const subscriber = await openRawSocket(wsUrl, await tokens.sign('target'));
    subscriber.send({ id: 1, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => asResponses(subscriber.messages).some((message) => message.result?.type === 'started'), 'subscriber started');
    const publisher = await openPlainSocket(wsUrl);

    // Sign-in, a batch of work and the signal leave together. The token is checked off the main
    // thread (WebCrypto), so when the signal is handled the calls are received and waiting on it:
    // in flight. They must be answered, not dropped with the socket (they run either way).
    const calls = Array.from({ length: 100 }, (_, index) => ({
      id: index + 1,
      method: 'mutation',
      params: { path: 'admin.send', input: { json: { userId: 'target', type: 'notification.new', data: { title: `n${index}`, message: '' } } } },
    }));
    publisher.send(connectionParamsMessage(await tokens.sign('root', 'admin')));
    publisher.send(calls);
    const signalledAt = Date.now();
    main.child.kill('SIGTERM');

    const { code, at } = await exited;
    const exitMs = at - signalledAt;
    const publisherClose = await publisher.closed;
    const subscriberClose = await subscriber.closed;
    const answered = publisher.messages.filter((message) => typeof message.id === 'number');
    const delivered = asResponses(subscriber.messages).map(eventOf).filter((event) => event?.type === 'notification.new');
    console.log(
      `[reliability] shutdown: exit code ${code} ${exitMs} ms after SIGTERM (deadline ${shutdownDeadlineMs} ms); ` +
        `${answered.length}/${calls.length} in-flight calls answered, ${delivered.length} events delivered; closes ${publisherClose.code}/${subscriberClose.code}`,
    );
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(shutdownDeadlineMs);
    expect(answered.filter((message) => message.result?.type === 'data')).toHaveLength(calls.length);
    expect(delivered).toHaveLength(calls.length);
    expect(publisher.messages.some(isReconnectNotice)).toBe(true);
    expect(subscriber.messages.some(isReconnectNotice)).toBe(true);
    expect(publisherClose).toMatchObject({ code: CloseCode.GoingAway, reason: expect.stringMatching(/^Server shutting down; retry in \d+ ms$/) });
    expect(subscriberClose.code).toBe(CloseCode.GoingAway);
  }, 60_000);

  it('stops accepting at once, and official clients keep their subscription waiting to reconnect', async () => {
    const t = await startServer();
    const raw: RawSocket = await openRawSocket(t.wsUrl, await t.token('alice'));
    raw.send({ id: 1, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => asResponses(raw.messages).some((message) => message.result?.type === 'started'), 'started');

    const closing = t.server.close();
    const refused = await new Promise<string>((resolve) => {
      const late = new WebSocket(`${t.wsUrl}?connectionParams=1`);
      late.once('open', () => resolve('open'));
      late.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
    await closing;
    expect(raw.messages.some(isReconnectNotice)).toBe(true);
    expect((await raw.closed).code).toBe(CloseCode.GoingAway);
  });
});
