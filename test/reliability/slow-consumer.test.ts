/**
 * Issue 6, item 1: a client that stops reading must not grow the server's memory without bound.
 *
 * The server runs in a child process, so its memory is the server's alone. One raw socket
 * subscribes to a room and stops reading (its TCP socket is paused: the kernel's buffers fill,
 * then the server's); 20,000 events of ~1 kB are broadcast into the room while a normal official
 * client in the same room reads them all. The same run without the bound is the control.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../shared/codes.js';
import { openRawSocket, type RawSocket } from '../support/raw-socket.js';
import { waitFor } from '../support/wait.js';
import { asResponses, eventOf, officialClient } from './support/clients.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

const roomId = 'busy-room';
const eventCount = 20_000;
const chunk = 1_000;
const payloadBytes = 1_000;
const mebibyte = 1024 * 1024;
const maxBufferedBytes = 4 * mebibyte;
/** History has its own bounds; small ones here keep its churn out of the slow consumer's figure. */
const history = { historyPerChannel: 1_000, historyGlobal: 2_000 };
/** Heap and Buffer bytes one ~1 kB event costs, as a frame in flight or an entry in history. */
const bytesPerEvent = 1_300;
/**
 * Live memory (heap + Buffers after a full collection) may grow by: the stalled connection's
 * bound; the frames in flight to the normal reader (the publisher runs at most two chunks ahead);
 * history's churn: the room's new log, which (like every BoundedLog) also keeps up to one log's
 * worth of evicted entries until it compacts, and a global log's worth of evicted events awaiting
 * compaction (the global log was already full before the measurement); and 2 MiB of slack.
 * Without the bound the stalled connection alone keeps everything the kernel could not take
 * (~16 MB here, and more with every event).
 */
const liveGrowthBoundBytes = maxBufferedBytes + (2 * chunk + 2 * history.historyPerChannel + history.historyGlobal) * bytesPerEvent + 2 * mebibyte;
/** RSS adds the collector's slack on top: the young generation and heap pages not yet returned. */
const rssGrowthBoundBytes = 48 * mebibyte;

let bounded: ServerProcess;
let unbounded: ServerProcess;
beforeAll(async () => {
  [bounded, unbounded] = await Promise.all([
    startServerProcess({ ...history, maxBufferedBytes, rateLimitPerSecond: 1_000 }),
    startServerProcess({ ...history, maxBufferedBytes: 1024 * mebibyte, rateLimitPerSecond: 1_000 }),
  ]);
}, 60_000);
afterAll(async () => Promise.all([bounded?.stop(), unbounded?.stop()]));

interface SlowConsumerRun {
  rssGrowthBytes: number;
  liveGrowthBytes: number;
  slowConsumerCloses: number;
  connectionsLeft: number;
  normalReceived: number;
  normalOutOfOrder: number;
  slow: RawSocket;
  lastEventId: string;
}

async function runSlowConsumer(server: ServerProcess): Promise<SlowConsumerRun> {
  // Fill history to its bound first, so growth below is the slow consumer's, not history's.
  await server.broadcast({ roomId: 'warm-up', count: 2 * history.historyGlobal, payloadBytes, perBatch: 1_000 });

  const normal = officialClient(server.wsUrl, await server.token('reader'));
  let normalReceived = 0;
  let normalOutOfOrder = 0;
  let started = false;
  normal.api.onRoom.subscribe(
    { roomId },
    {
      onStarted: () => (started = true),
      onData: ({ data: event }) => {
        if (event.type !== 'system.maintenance') return;
        if (!event.data.message.startsWith(`${normalReceived}:`)) normalOutOfOrder++;
        normalReceived++;
      },
    },
  );
  await waitFor(() => started, 'normal client subscribed');

  const slow = await openRawSocket(server.wsUrl, await server.token('stalled'));
  slow.send({ id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId } } } });
  await waitFor(() => asResponses(slow.messages).some((message) => message.result?.type === 'started'), 'slow client subscribed');
  (slow.socket as unknown as { _socket: Socket })._socket.pause();

  const baseline = await server.memory();
  let lastEventId = '';
  // The publisher runs at most two chunks ahead of the normal reader: a reader that reads is
  // never the one closed, however busy this machine is.
  for (let firstIndex = 0; firstIndex < eventCount; firstIndex += chunk) {
    ({ lastEventId } = await server.broadcast({ roomId, count: chunk, firstIndex, payloadBytes, checkpointEvery: chunk }));
    await waitFor(() => normalReceived >= firstIndex, 'the normal reader one chunk behind at most', 15_000);
  }
  await waitFor(() => normalReceived === eventCount, `the normal client's ${eventCount} events`, 15_000);
  const peak = await server.memory();
  const counters = await server.counters();
  await normal.close();
  const run = {
    rssGrowthBytes: peak.peakRssBytes - baseline.rssBytes,
    liveGrowthBytes: peak.peakLiveBytes - baseline.liveBytes,
    slowConsumerCloses: counters.slowConsumerCloses,
    connectionsLeft: counters.connections,
    normalReceived,
    normalOutOfOrder,
    slow,
    lastEventId,
  };
  console.log(
    `[reliability] slow consumer, ${eventCount} events x ${payloadBytes} B: server RSS growth ${mb(run.rssGrowthBytes)} ` +
      `(baseline ${mb(baseline.rssBytes)}), live (heap + Buffers) growth ${mb(run.liveGrowthBytes)}; ` +
      `slow-consumer closes ${run.slowConsumerCloses}; normal client ${normalReceived}/${eventCount}, ${normalOutOfOrder} out of order`,
  );
  return run;
}

describe('a slow consumer', () => {
  it('is closed (4008) at its buffer bound while memory stays bounded and a normal client gets every event', async () => {
    const run = await runSlowConsumer(bounded);
    console.log(`[reliability] slow consumer with maxBufferedBytes ${mb(maxBufferedBytes)}: bounds live growth < ${mb(liveGrowthBoundBytes)}, RSS growth < ${mb(rssGrowthBoundBytes)}`);
    expect(run.normalReceived).toBe(eventCount);
    expect(run.normalOutOfOrder).toBe(0);
    expect(run.slowConsumerCloses).toBe(1);
    expect(run.connectionsLeft).toBe(1);
    const metrics = await (await fetch(`${bounded.url}/metrics`)).text();
    expect(metrics).toMatch(/^realtime_slow_consumer_closes_total 1$/m);
    expect(run.liveGrowthBytes).toBeLessThan(liveGrowthBoundBytes);
    expect(run.rssGrowthBytes).toBeLessThan(rssGrowthBoundBytes);

    // Once it reads again it gets what the kernel had buffered, then the end of the connection.
    const { slow } = run;
    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    const closed = await slow.closed;
    const seen = asResponses(slow.messages).map(eventOf).filter((event) => event?.type === 'system.maintenance');
    console.log(`[reliability] slow consumer: it read ${seen.length} events, then close code ${closed.code}`);
    // 4008 when the close frame got through; 1006 when the server had to terminate a peer that read nothing for a second.
    expect([CloseCode.SlowConsumer, 1006]).toContain(closed.code);
    expect(seen.length).toBeLessThan(eventCount);

    // Coming back with lastEventId, it is told of the gap (it missed more than history keeps), then gets what history has.
    const back = await openRawSocket(bounded.wsUrl, await bounded.token('stalled'));
    const resumeFrom = seen.at(-1)?.id ?? '0';
    back.send({ id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId, lastEventId: resumeFrom } } } });
    await waitFor(() => asResponses(back.messages).map(eventOf).some((event) => event?.id === run.lastEventId), 'the newest event replayed');
    const replayed = asResponses(back.messages).map(eventOf).filter((event) => event !== undefined);
    expect(replayed[0]).toMatchObject({ type: 'stream.gap', data: { lastEventId: resumeFrom, reason: 'history_evicted' } });
    // Then the room's history (1,000 events, a few of them joins and leaves), consecutive up to the newest.
    const indexes = replayed.filter((event) => event.type === 'system.maintenance').map((event) => Number((event.data as { message: string }).message.split(':')[0]));
    expect(indexes.length).toBeGreaterThan(history.historyPerChannel - 10);
    expect(indexes).toEqual(Array.from({ length: indexes.length }, (_, offset) => eventCount - indexes.length + offset));
    back.close();
  }, 60_000);

  it('without the bound (control), keeps buffering for the stalled client', async () => {
    const run = await runSlowConsumer(unbounded);
    expect(run.slowConsumerCloses).toBe(0);
    expect(run.normalReceived).toBe(eventCount);
    // What the kernel could not take stays queued in the server for a client that never reads.
    expect(run.liveGrowthBytes).toBeGreaterThan(liveGrowthBoundBytes);
    run.slow.close();
  }, 60_000);
});

const mb = (bytes: number) => `${(bytes / mebibyte).toFixed(1)} MB`;
