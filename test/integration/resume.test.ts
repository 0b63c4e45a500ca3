import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../support/collect.js';
import { startServer, transports, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

describe.each(transports)('resume over %s', (transport) => {
  it('resumes after a dropped connection: the missed events arrive in order, none twice', async () => {
    // Published server-side: dropping every connection also drops an HTTP publisher's keep-alive socket.
    const { core } = t.server.services;
    const alice = t.connect(await t.token(`alice-${transport}`), { retryDelayMs: 200, transport });
    const stream = collect(alice.api.onNotification, undefined);
    await waitFor(() => stream.started, 'started');
    const titles = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => `n${from + index}`);
    for (const title of titles(0, 5)) await core.sendToUser(`alice-${transport}`, 'notification.new', { title, message: '' });
    await waitFor(() => stream.events.length === 5, 'first five');

    t.dropAll();
    // Published while the client is away (it reconnects after 200 ms).
    for (const title of titles(5, 12)) await core.sendToUser(`alice-${transport}`, 'notification.new', { title, message: '' });
    await waitFor(() => stream.events.length >= 12, 'missed events replayed', 5_000);
    for (const title of titles(12, 15)) await core.sendToUser(`alice-${transport}`, 'notification.new', { title, message: '' });
    await waitFor(() => stream.events.length >= 15, 'live after resume');
    await sleep(50);
    expect(stream.events.map((event) => (event.data as { title: string }).title)).toEqual(titles(0, 15));
    expect(new Set(stream.events.map((event) => event.id)).size).toBe(15);
    alice.close();
  });

  it('resumes a subscription that had received nothing yet, when it started from streamHead', async () => {
    const { core } = t.server.services;
    const user = `quiet-${transport}`;
    const client = t.connect(await t.token(user), { retryDelayMs: 200, transport });
    const { lastEventId } = await client.api.streamHead.query();
    expect(lastEventId).toEqual(expect.any(String));
    const stream = collect(client.api.onNotification, { lastEventId: lastEventId! });
    await waitFor(() => stream.started, 'started');
    t.dropAll();
    for (const title of ['while-away-1', 'while-away-2']) await core.sendToUser(user, 'notification.new', { title, message: '' });
    await waitFor(() => stream.events.length >= 2, 'events sent while away', 5_000);
    await sleep(50);
    expect(stream.events.map((event) => (event.data as { title: string }).title)).toEqual(['while-away-1', 'while-away-2']);
    client.close();
  });

  it('tells a resuming subscriber about a gap it can act on', async () => {
    const small = await startServer({ historyPerChannel: 3 });
    const { core } = small.server.services;
    const alice = small.connect(await small.token('alice'), { retryDelayMs: 200, transport });
    const stream = collect(alice.api.onNotification, undefined);
    await waitFor(() => stream.started, 'started');
    await core.sendToUser('alice', 'notification.new', { title: 'seen', message: '' });
    await waitFor(() => stream.events.length === 1, 'first');
    small.dropAll();
    for (let index = 0; index < 6; index++) {
      await core.sendToUser('alice', 'notification.new', { title: `missed${index}`, message: '' });
    }
    await waitFor(() => stream.events.length >= 5, 'gap and the held events');
    expect(stream.events[1]).toMatchObject({ type: 'stream.gap', data: { reason: 'history_evicted', lastEventId: stream.events[0]!.id } });
    expect(stream.events.slice(2).map((event) => (event.data as { title: string }).title)).toEqual(['missed3', 'missed4', 'missed5']);
    alice.close();
    await small.stop();
  });
});

describe('history and statistics', () => {
  it('answers stats and filtered history to admins', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    await admin.admin.broadcast.mutate({ roomId: 'hist', type: 'sphere.updated', data: { changed: ['a'] } });
    await admin.admin.broadcast.mutate({ roomId: 'hist', type: 'sphere.updated', data: { changed: ['b'] } });
    await admin.admin.send.mutate({ userId: 'someone', type: 'notification.new', data: { title: 't', message: 'm' } });
    const history = await admin.admin.history.query({ roomId: 'hist', limit: 10 });
    expect(history.map((event) => (event.data as { changed: string[] }).changed[0])).toEqual(['b', 'a']);
    expect(await admin.admin.history.query({ type: 'notification.new', userId: 'someone' })).toHaveLength(1);
    const stats = await admin.admin.stats.query();
    expect(stats.totalEvents).toBeGreaterThanOrEqual(3);
    expect(stats.eventsByType['sphere.updated']).toBeGreaterThanOrEqual(2);
    expect(stats).toHaveProperty('activeConnections');
    expect(stats).toHaveProperty('onlineUsers');
  });

  it('serves health and Prometheus metrics on the same port', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const name of [
      'realtime_connections',
      'realtime_subscriptions',
      'realtime_events_total',
      'realtime_deliveries_total',
      'realtime_rate_limited_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/realtime_events_total\{type="sphere.updated"\} \d+/);
  });
});

