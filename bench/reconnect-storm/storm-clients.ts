/**
 * A process of `--reconnect-storm` clients: each one this project's client (the official
 * `createWSClient` + `wsLink` inside, with its jittered backoff and the retry hint), a distinct
 * user subscribed to the storm room with `onRoom`, counting the marker events it receives.
 */
import WebSocket from 'ws';
import { createRealtimeClient, type RealtimeClient } from '../../client/index.js';
import { serveParent } from '../ipc.js';
import { signUserTokens } from '../loadgen/membership-counter.js';
import { stormRoomId, type StormClientOperations, type StormStatus } from './contracts.js';

interface StormClient {
  client: RealtimeClient;
  starts: number;
  gaps: number;
  /** Marker → times received. */
  markers: Map<string, number>;
}

const clients: StormClient[] = [];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Clients created per tick while connecting: all at once only overflows the accept backlog. */
const connectBatch = 100;

function open(url: string, token: string): StormClient {
  const client = createRealtimeClient({ url, token, WebSocket: WebSocket as never });
  const state: StormClient = { client, starts: 0, gaps: 0, markers: new Map() };
  client.subscribeToRoom(
    stormRoomId,
    (event) => {
      if (event.type !== 'notification.new') return;
      const marker = event.data.message;
      state.markers.set(marker, (state.markers.get(marker) ?? 0) + 1);
    },
    { onStarted: () => state.starts++, onGap: () => state.gaps++ },
  );
  return state;
}

function status(starts: number, markers: readonly string[]): StormStatus {
  const result: StormStatus = { clients: clients.length, started: 0, complete: 0, missing: 0, duplicates: 0, gaps: 0 };
  for (const client of clients) {
    if (client.starts >= starts) result.started++;
    let missing = 0;
    for (const marker of markers) if (!client.markers.has(marker)) missing++;
    if (missing === 0) result.complete++;
    result.missing += missing;
    for (const count of client.markers.values()) result.duplicates += Math.max(0, count - 1);
    result.gaps += client.gaps;
  }
  return result;
}

const { announceReady } = serveParent<StormClientOperations>({
  async connect({ url, count, userIdPrefix, secret, timeoutMs }) {
    const tokens = await signUserTokens(secret, userIdPrefix, count);
    const started = performance.now();
    for (let index = 0; index < count; index += connectBatch) {
      for (const token of tokens.slice(index, index + connectBatch)) clients.push(open(url, token));
      await sleep(20);
    }
    const deadline = started + timeoutMs;
    while (clients.some((client) => client.starts === 0) && performance.now() < deadline) await sleep(50);
    return { connected: clients.filter((client) => client.starts > 0).length, milliseconds: performance.now() - started };
  },
  async status({ starts, markers }) {
    return status(starts, markers);
  },
  async close() {
    const closing = clients.splice(0);
    await Promise.all(closing.map((client) => client.client.close().catch(() => undefined)));
    return { closed: closing.length };
  },
});
announceReady({ pid: process.pid });
