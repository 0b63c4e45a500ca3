/**
 * `npm run bench -- --reconnect-storm`: N clients of this project's client library (the official
 * `@trpc/client` inside), each a distinct user subscribed to one room, then SIGTERM to the
 * server and a new process on the same port, as a deploy does. Measured: the time until every
 * client is resubscribed, and events lost: markers published before the signal and right after
 * the restart (while the clients are still away) must all reach every client, live or through
 * its resume. Bounded in clients (≤ 20,000) and time (--timeout).
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { createTRPCClient, httpLink } from '@trpc/client';
import { SignJWT } from 'jose';
import superjson from 'superjson';
import type { AppRouter } from '../../server/api/router.js';
import { ChildChannel } from '../ipc.js';
import { split } from '../measure-cell.js';
import { positiveInteger } from '../options.js';
import { startChild } from '../processes.js';
import { benchAuthSecret } from '../servers/bench-limits.js';
import { stormRoomId, type StormClientOperations, type StormServerOperations, type StormStatus } from './contracts.js';

const usage = `npm run bench -- --reconnect-storm [options]
  --n 5000              clients (distinct users, one room; at most 20000)
  --client-processes 2  processes the clients are split across
  --events 20           marker events published after the restart (and 5 before the signal)
  --spread-ms 2000      the server's RECONNECT_SPREAD_MS (retry hints between half this and this)
  --timeout 180         seconds the storm may take before the run gives up
  --history 0           the server's HISTORY_PER_CHANNEL (0: its default, 1000; the storm's joins are stored in the room's history too)`;

type ServerChannel = ChildChannel<StormServerOperations, { url: string }>;
type ClientChannel = ChildChannel<StormClientOperations, { pid: number }>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function statusOf(clients: readonly ClientChannel[], starts: number, markers: string[]): Promise<StormStatus> {
  const parts = await Promise.all(clients.map((client) => client.request('status', { starts, markers }, 30_000)));
  const total: StormStatus = { clients: 0, started: 0, complete: 0, missing: 0, duplicates: 0, gaps: 0 };
  for (const part of parts) for (const key of Object.keys(total) as Array<keyof StormStatus>) total[key] += part[key];
  return total;
}

/** Polls until every client has started `starts` times and has every marker, or the deadline. */
async function waitForAll(clients: readonly ClientChannel[], starts: number, markers: string[], deadline: number, since: number) {
  let resubscribedAt: number | undefined;
  let status = await statusOf(clients, starts, markers);
  while (performance.now() < deadline) {
    if (resubscribedAt === undefined && status.started === status.clients) resubscribedAt = performance.now() - since;
    if (status.started === status.clients && status.complete === status.clients) break;
    await sleep(200);
    status = await statusOf(clients, starts, markers);
  }
  return { status, resubscribedMs: resubscribedAt, completeMs: status.complete === status.clients ? performance.now() - since : undefined };
}

export async function runReconnectStorm(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { n: { type: 'string' }, 'client-processes': { type: 'string' }, events: { type: 'string' }, 'spread-ms': { type: 'string' }, timeout: { type: 'string' }, history: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) return console.log(usage);
  const count = Math.min(20_000, positiveInteger(values.n, 'n', 5_000));
  const processes = positiveInteger(values['client-processes'], 'client-processes', 2);
  const afterEvents = positiveInteger(values.events, 'events', 20);
  const spreadMs = positiveInteger(values['spread-ms'], 'spread-ms', 2_000);
  const timeoutMs = positiveInteger(values.timeout, 'timeout', 180) * 1000;
  const historyPerChannel = values.history === undefined ? 0 : Number(values.history);
  const startStormServer = (port: number) =>
    new ChildChannel<StormServerOperations, { url: string }>(
      startChild('reconnect-storm/storm-server.js', {
        STORM_PORT: String(port),
        STORM_SPREAD_MS: String(spreadMs),
        ...(historyPerChannel > 0 && { STORM_HISTORY_PER_CHANNEL: String(historyPerChannel) }),
      }),
      'storm server',
      30_000,
    );

  const port = await freePort();
  let server: ServerChannel = startStormServer(port);
  const { url } = await server.ready;
  const admin = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/trpc`,
        transformer: superjson,
        headers: async () => ({
          authorization: `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('storm-admin').setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(benchAuthSecret))}`,
        }),
      }),
    ],
  });
  const publish = (marker: string) => admin.admin.broadcast.mutate({ roomId: stormRoomId, type: 'notification.new', data: { title: 'storm', message: marker } });

  const clients: ClientChannel[] = Array.from({ length: processes }, (_, index) => new ChildChannel(startChild('reconnect-storm/storm-clients.js'), `storm clients ${index}`, 30_000));
  await Promise.all(clients.map((client) => client.ready));
  const shares = split(count, processes);
  const connectTimeoutMs = 60_000 + count * 20;
  const connected = await Promise.all(
    clients.map((client, index) => client.request('connect', { url, count: shares[index]!, userIdPrefix: `storm-${index}-`, secret: benchAuthSecret, timeoutMs: connectTimeoutMs }, connectTimeoutMs + 30_000)),
  );
  console.log(`connected ${connected.reduce((sum, part) => sum + part.connected, 0)} of ${count} clients in ${seconds(Math.max(...connected.map((part) => part.milliseconds)))}`);

  const before = Array.from({ length: 5 }, (_, index) => `before-${index}`);
  for (const marker of before) await publish(marker);
  const settled = await waitForAll(clients, 1, before, performance.now() + 60_000, performance.now());
  console.log(`before the signal: ${settled.status.complete} of ${count} clients have all ${before.length} markers`);

  // The deploy: SIGTERM, the old process drains and exits, a new one starts on the same port.
  const signalledAt = performance.now();
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  const exitedMs = performance.now() - signalledAt;
  server = startStormServer(port);
  await server.ready;
  const readyMs = performance.now() - signalledAt;
  const cpuBefore = (await server.request('stats', {}, 10_000)).cpuMicros;

  // Published while the clients come back: each must get them live or in its resume.
  const after = Array.from({ length: afterEvents }, (_, index) => `after-${index}`);
  for (const marker of after) {
    await publish(marker);
    await sleep(100);
  }
  const result = await waitForAll(clients, 2, [...before, ...after], signalledAt + timeoutMs, signalledAt);
  const stats = await server.request('stats', {}, 10_000);

  const lines = [
    `# Reconnect storm: ${count.toLocaleString('en-US')} clients, SIGTERM and restart`,
    '',
    `${new Date().toISOString()} · this project's client library (official createWSClient + wsLink, jittered backoff, retry hints) in ${processes} processes, ` +
      `each client a distinct user on onRoom in one room; server RECONNECT_SPREAD_MS=${spreadMs}, HISTORY_PER_CHANNEL=${historyPerChannel || 'default (1000)'}; ${before.length} markers before the signal, ${after.length} after the restart (100 ms apart).`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| SIGTERM → old process exited | ${seconds(exitedMs)} |`,
    `| SIGTERM → new process listening | ${seconds(readyMs)} |`,
    `| SIGTERM → every client resubscribed | ${result.resubscribedMs === undefined ? `not within ${seconds(timeoutMs)} (${result.status.started} of ${count})` : seconds(result.resubscribedMs)} |`,
    `| new process listening → every client resubscribed | ${result.resubscribedMs === undefined ? 'n/a' : seconds(result.resubscribedMs - readyMs)} |`,
    `| SIGTERM → every client has every marker | ${result.completeMs === undefined ? `not within ${seconds(timeoutMs)} (${result.status.complete} of ${count})` : seconds(result.completeMs)} |`,
    `| events lost (markers missing, summed over clients) | ${result.status.missing} |`,
    `| markers received twice (summed over clients) | ${result.status.duplicates} |`,
    `| stream.gap notices (new epoch of the embedded bus) | ${result.status.gaps} |`,
    `| new process: CPU during the storm | ${(((stats.cpuMicros - cpuBefore) / 1000)).toFixed(0)} ms |`,
    `| new process: WebSockets refused (load shedding) | ${stats.refusedConnections} |`,
    '',
  ];
  console.log(lines.join('\n'));
  await Promise.all(clients.map((client) => client.request('close', {}, 60_000).catch(() => undefined)));
  server.child.kill('SIGTERM');
}
