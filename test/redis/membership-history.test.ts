/**
 * A room's membership changes keep their own bounded history over Redis too (the membership
 * scripts publish to the room's membership channel, bus/channels): a resume on another process
 * after more joins than HISTORY_PER_CHANNEL still replays the room's own events (issue 17).
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import type { ServerProcess } from '../support/main-process.js';
import { requireRedis } from '../support/redis.js';
import { useRedisProcesses } from '../support/redis-processes.js';
import { httpClient, testTokens, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
const tokens = testTokens();
const historyPerChannel = 20;
const cluster = useRedisProcesses(enabled, 2, (url) => ({ REDIS_URL: url, REDIS_PREFIX: 'members-history', HISTORY_PER_CHANNEL: String(historyPerChannel) }));
const { processes, clients } = cluster;

async function subscribe(server: ServerProcess, userId: string, roomId: string, lastEventId?: string) {
  const client = wsClient(server.wsUrl, await tokens.sign(userId));
  clients.push(client);
  const events: RealtimeEvent[] = [];
  let started = false;
  const subscription = client.api.onRoom.subscribe(
    { roomId, ...(lastEventId !== undefined && { lastEventId }) },
    { onData: ({ data }) => events.push(data), onStarted: () => (started = true) },
  );
  await waitFor(() => started, `${userId} subscribed`);
  return { events, unsubscribe: () => subscription.unsubscribe() };
}

const roomEvents = (events: RealtimeEvent[]) =>
  events.filter((event) => event.type === 'sphere.updated').map((event) => (event.data as { changed: string[] }).changed[0]);

describe.runIf(enabled)('room history over Redis under a wave of joins', () => {
  it('replays on another process the room events published before more joins than the history holds', async () => {
    const roomId = 'wave';
    const [first, second] = [processes[0]!, processes[1]!];
    const admin = httpClient(first.url, await tokens.sign('root', 'admin'));
    const broadcast = (changed: string) => admin.admin.broadcast.mutate({ roomId, type: 'sphere.updated', data: { changed: [changed] } });

    const watcher = await subscribe(first, 'watcher', roomId);
    await broadcast('seen');
    await waitFor(() => roomEvents(watcher.events).length === 1, 'the first event live');
    const seenId = watcher.events.find((event) => event.type === 'sphere.updated')!.id;
    watcher.unsubscribe();

    await broadcast('missed');
    const joiners = historyPerChannel * 2;
    for (let index = 0; index < joiners; index++) await subscribe(index % 2 === 0 ? first : second, `joiner-${index}`, roomId);
    await broadcast('after');

    const resumed = await subscribe(second, 'watcher', roomId, seenId);
    await waitFor(() => roomEvents(resumed.events).length >= 2, 'the missed room events', 10_000);
    expect(roomEvents(resumed.events)).toEqual(['missed', 'after']);
  });
});
