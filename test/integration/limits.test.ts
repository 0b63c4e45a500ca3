import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer({ rateLimitPerSecond: 5, rateLimitBurst: 5 })));
afterAll(async () => t.stop());

describe('rate limits', () => {
  it('answers TOO_MANY_REQUESTS past the limit, counts it, and does not delay others’ events', async () => {
    const flooder = t.connect(await t.token('flooder'));
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => flooder.api.presence.online.query()));
    const limited = results.filter((result) => result.status === 'rejected' && (result.reason as { data?: { code?: string } }).data?.code === 'TOO_MANY_REQUESTS');
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThanOrEqual(15);

    const victim = t.connect(await t.token('victim'));
    const stream = collect(victim.api.onNotification, undefined);
    await waitFor(() => stream.started, 'victim subscribed');
    await t.server.services.core.sendToUser('victim', 'notification.new', { title: 'on time', message: '' });
    await waitFor(() => ofType(stream.events, 'notification.new').length === 1, 'victim still served');

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(metrics.match(/^realtime_rate_limited_total (\d+)/m)?.[1])).toBeGreaterThanOrEqual(15);
    flooder.close();
    victim.close();
  });

  it('closes a connection that floods frames far past its limit (4030)', async () => {
    const raw = await openRawSocket(t.wsUrl, await t.token('firehose'));
    for (let index = 0; index < 300; index++) raw.send('garbage');
    expect((await raw.closed).code).toBe(4030);
  });
});

describe('leaks', () => {
  it('returns subscription and listener counts to zero after unsubscribe and disconnect', async () => {
    const server = await startServer();
    const { core } = server.server.services;
    const clients = await Promise.all(Array.from({ length: 10 }, async (_, index) => server.connect(await server.token(`leaky${index % 4}`))));
    const streams = clients.flatMap((client) => [
      collect(client.api.onRoom, { roomId: 'leak-room' }),
      collect(client.api.onEvent, undefined),
      collect(client.api.onNotification, undefined),
    ]);
    await waitFor(() => core.stats().subscriptions === 30, '30 subscriptions');
    for (const stream of streams.slice(0, 15)) stream.unsubscribe();
    await waitFor(() => core.stats().subscriptions === 15, 'half unsubscribed');
    for (const client of clients) client.close();
    await waitFor(() => core.stats().activeConnections === 0, 'all disconnected');
    expect(core.stats()).toMatchObject({ subscriptions: 0, activeConnections: 0, activeUsers: 0, activeRooms: 0 });
    expect(core.indexedChannelCount).toBe(0);
    expect(server.server.transport.connectionCount).toBe(0);
    await server.stop();
  });
});
