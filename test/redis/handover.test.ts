/**
 * Graceful shutdown with several processes: SIGTERM on one, and its clients move to another
 * process behind the same address list, losing nothing.
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../server/api/router.js';
import { startServerProcess, type ServerProcess } from '../support/main-process.js';
import { collect } from '../support/collect.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { httpClient, testTokens } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

const enabled = requireRedis();
const tokens = testTokens();
let redis: TestRedis;
let processes: ServerProcess[] = [];

beforeAll(async () => {
  if (!enabled) return;
  redis = await startRedis();
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: 'handover' };
  processes = await Promise.all([startServerProcess(env), startServerProcess(env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((server) => server.kill('SIGKILL')));
  await redis?.close();
});

describe.runIf(enabled)('graceful shutdown of one process among several', () => {
  it('moves its clients to another process on SIGTERM without losing or repeating an event', async () => {
    const [leaving, staying] = [processes[0]!, processes[1]!];
    // What a load balancer does: the next connection goes to a process that is still up.
    let target = leaving.wsUrl;
    const token = await tokens.sign('traveller');
    const socket = createWSClient({ url: () => target, WebSocket: WebSocket as never, connectionParams: { token }, retryDelayMs: () => 100 });
    const api = createTRPCClient<AppRouter>({ links: [wsLink({ client: socket, transformer: superjson })] });
    const stream = collect(api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');

    const publisher = httpClient(staying.url, await tokens.sign('root', 'admin'));
    const send = (title: string) => publisher.admin.send.mutate({ userId: 'traveller', type: 'notification.new', data: { title, message: '' } });
    const titles: string[] = [];
    const sendAndRecord = async (title: string) => {
      await send(title);
      titles.push(title);
    };
    for (let index = 0; index < 5; index++) await sendAndRecord(`before-${index}`);
    await waitFor(() => stream.events.length === 5, 'first five');

    target = staying.wsUrl;
    const exit = leaving.kill('SIGTERM');
    // Events keep coming while the process drains and the client moves.
    for (let index = 0; index < 20; index++) {
      await sendAndRecord(`during-${index}`);
      await sleep(20);
    }
    expect(await exit).toBe(0);
    for (let index = 0; index < 5; index++) await sendAndRecord(`after-${index}`);
    await waitFor(() => stream.events.length >= titles.length, 'every event', 15_000);
    await sleep(200);
    expect(stream.events.map((event) => (event.data as { title: string }).title)).toEqual(titles);
    void socket.close();
  }, 60_000);
});
