/**
 * Issue 13, items 1, 4 and 5, as the official client meets them: its wsLink sends the calls of one
 * tick as one frame, so a burst must be answered call by call (rate limit per call, per user),
 * a call that is too large is refused alone, and nothing of it closes the connection, which the
 * client would reopen and fill with the same request. SSE streams end at their token's expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCClientError } from '@trpc/client';
import { CloseCode } from '../../shared/codes.js';
import { collect, ofType } from '../support/collect.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { officialClient } from './support/clients.js';

const perSecond = 10;
const burst = 20;
let t: TestServer;
beforeAll(async () => (t = await startServer({ rateLimitPerSecond: perSecond, rateLimitBurst: burst, maxConnectionsPerUser: 3 })));
afterAll(() => t.stop());

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === 'fulfilled' ? 'OK' : result.reason instanceof TRPCClientError ? (result.reason.data as { code?: string } | undefined)?.code ?? result.reason.message : String(result.reason);

function tally(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) counts[codeOf(result)] = (counts[codeOf(result)] ?? 0) + 1;
  return counts;
}

async function notifyFromAdmin(userId: string, title: string) {
  await t.http(await t.token('root', 'admin')).admin.send.mutate({ userId, type: 'notification.new', data: { title, message: '' } });
}

describe('the official client under its own batching', () => {
  it('answers a burst of 3,000 calls in one frame call by call: the rate limit refuses the excess, the connection stays', async () => {
    let closes = 0;
    const client = officialClient(t.wsUrl, await t.token('bursty'), { onClose: () => closes++ });
    const stream = collect(client.api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');

    const calls = 3_000;
    const results = await Promise.allSettled(Array.from({ length: calls }, () => client.api.presence.online.query()));
    const counts = tally(results);
    console.log(`[reliability] burst of ${calls} calls in one tick (one frame): ${JSON.stringify(counts)}, socket closes ${closes}`);
    expect((counts.OK ?? 0) + (counts.TOO_MANY_REQUESTS ?? 0)).toBe(calls);
    // The burst allowance plus what the steady rate refills while the burst is answered.
    expect(counts.OK).toBeGreaterThanOrEqual(burst);
    expect(counts.OK).toBeLessThan(burst + perSecond * 5);
    expect(closes).toBe(0);

    await notifyFromAdmin('bursty', 'after the burst');
    await waitFor(() => ofType(stream.events, 'notification.new').length === 1, 'the subscription still delivers');
    expect(closes).toBe(0);
    await client.close();
  });

  it('refuses a subscription whose input is too large by itself (PAYLOAD_TOO_LARGE), without a reconnect, while the others go on', async () => {
    let closes = 0;
    const client = officialClient(t.wsUrl, await t.token('oversized'), { onClose: () => closes++ });
    const stream = collect(client.api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');
    const oversized = collect(client.api.onRoom, { roomId: 'x'.repeat(100_000) });
    await waitFor(() => oversized.errors.length === 1, 'the oversized subscription refused');
    expect(oversized.errors[0]).toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE' } });

    await notifyFromAdmin('oversized', 'still subscribed');
    await waitFor(() => ofType(stream.events, 'notification.new').length === 1, 'the other subscription delivers');
    expect(closes).toBe(0);
    expect(t.server.transport.counters.refusals).toBeGreaterThan(0);
    await client.close();
  });

  it('counts the rate limit per user: more sockets buy no more calls', async () => {
    const token = await t.token('many-sockets');
    const clients = [officialClient(t.wsUrl, token), officialClient(t.wsUrl, token), officialClient(t.wsUrl, token)];
    const perClient = 40;
    const results = await Promise.allSettled(clients.flatMap((client) => Array.from({ length: perClient }, () => client.api.presence.online.query())));
    const counts = tally(results);
    console.log(`[reliability] ${clients.length} sockets of one user, ${perClient} calls each: ${JSON.stringify(counts)}`);
    expect(counts.OK).toBeLessThan(burst + perSecond * 3);
    expect(counts.TOO_MANY_REQUESTS).toBeGreaterThan(clients.length * perClient - burst - perSecond * 3);
    await Promise.all(clients.map((client) => client.close()));
  });
});

describe('connections per user', () => {
  it('closes a user’s connection past the per-user bound with 4029, and counts SSE streams too', async () => {
    const token = await t.token('crowded');
    const sockets = await Promise.all([1, 2, 3].map(() => openRawSocket(t.wsUrl, token)));
    for (const [index, socket] of sockets.entries()) socket.send({ id: index, method: 'query', params: { path: 'presence.online', input: { json: undefined } } });
    await waitFor(() => sockets.every((socket) => socket.messages.length > 0), 'three connections answered');
    const fourth = await openRawSocket(t.wsUrl, token);
    expect(await fourth.closed).toEqual({ code: CloseCode.TooManyConnections, reason: 'At most 3 connections per user' });

    sockets[0]!.close();
    await waitFor(() => t.server.services.core.localConnectionCount === 2, 'one connection gone');
    const sse = t.connect(token, { transport: 'sse' });
    const first = collect(sse.api.onNotification, undefined);
    await waitFor(() => first.started, 'an SSE stream takes the free place');
    const second = collect(sse.api.onEvent, undefined);
    await waitFor(() => second.errors.length === 1, 'a second SSE stream refused');
    expect(second.errors[0]).toMatchObject({ data: { code: 'TOO_MANY_REQUESTS' } });
    sse.close();
    for (const socket of sockets.slice(1)) socket.close();
  });
});

describe('SSE and token expiry', () => {
  it('ends an SSE stream when its token expires, as a WebSocket closes with 4001', async () => {
    const token = await t.token('sse-expiring', 'user', '2s');
    const expiresAtMs = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    const client = t.connect(token, { transport: 'sse' });
    let endedAt = 0;
    const stream = (client.api.onNotification.subscribe as (input: undefined, options: object) => { unsubscribe(): void })(undefined, {
      onStarted: () => {},
      onData: () => {},
      onError: () => (endedAt ||= Date.now()),
      onComplete: () => (endedAt ||= Date.now()),
    });
    await waitFor(() => t.server.services.core.presenceOf('sse-expiring').status === 'online', 'online over SSE');
    await waitFor(() => endedAt > 0, 'the stream ended', 6_000);
    console.log(`[reliability] SSE stream ended ${endedAt - expiresAtMs} ms after its token's exp`);
    expect(endedAt).toBeGreaterThanOrEqual(expiresAtMs - 1_000);
    await waitFor(() => t.server.services.core.presenceOf('sse-expiring').status === 'offline', 'offline once the stream ended');
    stream.unsubscribe();
    client.close();
  });
});
