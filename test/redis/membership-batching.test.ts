/**
 * Membership batching across two real server processes over one real Redis (issue 17). Each
 * change crosses Redis once, as its own stored event (the membership scripts publish it with
 * the change); batches never cross it: each process batches for its own subscribers, so a
 * member receives one `room.membership` per window whatever the number of processes, listing
 * the changes made on every process, each once.
 */
import { describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { expandRoomMembership } from '../../shared/membership-batches.js';
import type { ServerProcess } from '../support/main-process.js';
import { requireRedis } from '../support/redis.js';
import { useRedisProcesses } from '../support/redis-processes.js';
import { httpClient, testTokens, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
const tokens = testTokens();
const cluster = useRedisProcesses(enabled, 2, (url) => ({ REDIS_URL: url, REDIS_PREFIX: 'batching', MEMBERSHIP_BATCH_MS: '1000' }));
const { processes, clients } = cluster;

/** Raw events as the official client receives them, batches not expanded. */
async function subscribe(server: ServerProcess, userId: string, roomId: string) {
  const client = wsClient(server.wsUrl, await tokens.sign(userId));
  clients.push(client);
  const raw: RealtimeEvent[] = [];
  let started = false;
  client.api.onRoom.subscribe({ roomId }, { onData: ({ data }) => raw.push(data), onStarted: () => (started = true) });
  await waitFor(() => started, `${userId} subscribed`);
  return raw;
}

const joinedIn = (raw: RealtimeEvent[]) => raw.flatMap(expandRoomMembership).filter((event) => event.type === 'room.joined');

describe.runIf(enabled)('membership batching over Redis', () => {
  it('carries each change across Redis once, and gives members on both processes each change once, in batches', async () => {
    const roomId = 'span';
    const [first, second] = [processes[0]!, processes[1]!];
    const watchers = [await subscribe(first, 'watch-a', roomId), await subscribe(second, 'watch-b', roomId)];
    const joiners = Array.from({ length: 8 }, (_, index) => `span-${index}`);
    await Promise.all(joiners.map((userId, index) => subscribe(index % 2 === 0 ? first : second, userId, roomId)));

    for (const raw of watchers) {
      await waitFor(() => joiners.every((userId) => joinedIn(raw).some((event) => event.data.userId === userId)), 'every join, from both processes', 15_000);
      const ids = joinedIn(raw).map((event) => event.id);
      expect(new Set(ids).size).toBe(ids.length); // each change once
      const onTheWire = raw.filter((event) => ['room.joined', 'room.left', 'user.presence', 'user.idle', 'room.membership'].includes(event.type));
      expect(onTheWire.every((event) => event.type === 'room.membership')).toBe(true);
      // One batch per window with changes, from the member's own process: 8 joins at once fit in a few.
      expect(onTheWire.length).toBeLessThan(joiners.length);
    }

    // Redis holds each join once, as its own event, and no batch at all.
    const admin = httpClient(first.url, await tokens.sign('root', 'admin'));
    const stored = await admin.admin.history.query({ roomId, type: 'room.joined', limit: 100 });
    expect(stored.map((event) => (event.data as { userId: string }).userId).sort()).toEqual(['watch-a', 'watch-b', ...joiners].sort());
    expect(await admin.admin.history.query({ type: 'room.membership', limit: 100 })).toEqual([]);
  });
});
