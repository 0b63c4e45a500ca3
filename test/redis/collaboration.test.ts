/**
 * Cursors across two real server processes over one real Redis: a move published on one
 * process reaches a member on the other, coalesced, the last one exact; it takes the cheapest
 * path (one PUBLISH, no stream entry), while a durable event in the same room is stored.
 */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { ServerProcess } from '../support/main-process.js';
import { collect, ofType } from '../support/collect.js';
import { requireRedis } from '../support/redis.js';
import { useRedisProcesses } from '../support/redis-processes.js';
import { httpClient, testTokens, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import type { RealtimeEvent } from '../../shared/events.js';

const enabled = requireRedis();
const tokens = testTokens();
const hz = 10;
/** The x of the newest cursor.moved received. */
const lastX = (events: RealtimeEvent[]) => {
  const last = events.findLast((event) => event.type === 'cursor.moved');
  return last?.type === 'cursor.moved' ? last.data.x : undefined;
};
const cluster = useRedisProcesses(enabled, 2, (url) => ({ REDIS_URL: url, REDIS_PREFIX: 'collab', EPHEMERAL_HZ: String(hz), RATE_LIMIT_PER_SECOND: '5000', RATE_LIMIT_BURST: '5000' }));
const { processes, clients } = cluster;

const connect = async (server: ServerProcess, userId: string) => {
  const client = wsClient(server.wsUrl, await tokens.sign(userId));
  clients.push(client);
  return client.api;
};

describe.runIf(enabled)('cursors across two processes', () => {
  it('delivers moves from one process to the other, coalesced, the last exact, and never in a Redis stream', async () => {
    const mover = await connect(processes[0]!, 'mover');
    const watcher = await connect(processes[1]!, 'watcher');
    await mover.rooms.join.mutate({ roomId: 'board' });
    const seen = collect(watcher.onRoom, { roomId: 'board' });
    await waitFor(async () => (await mover.rooms.members.query({ roomId: 'board' })).length === 2, 'both members, on both processes');
    await waitFor(async () => (await watcher.rooms.members.query({ roomId: 'board' })).length === 2, 'both members, seen from the other process');

    const startedAt = Date.now();
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, index) => mover.rooms.publish.mutate({ roomId: 'board', type: 'cursor.moved', data: { x: batch * 100 + index, y: 1 } })),
      );
    }
    const admin = httpClient(processes[0]!.url, await tokens.sign('root', 'admin'));
    await admin.admin.broadcast.mutate({ roomId: 'board', type: 'sphere.updated', data: { changed: ['after the moves'] } });
    await waitFor(() => lastX(seen.events) === 499, 'the last move, on the other process');
    await waitFor(() => ofType(seen.events, 'sphere.updated').length === 1, 'the durable event');
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    const moves = ofType(seen.events, 'cursor.moved');
    expect(moves.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds * hz) + 1);
    expect(moves.at(-1)).toMatchObject({ senderId: 'mover', roomId: 'board', data: { x: 499, y: 1 } });
    // Client-side ids are unique (the client drops a repeated id) and each resumes like a stored one.
    expect(new Set(moves.map((event) => event.id)).size).toBe(moves.length);

    const commands = new Redis(cluster.redis.url);
    try {
      const entries = await commands.xrange(`collab:all:${await commands.get('collab:epoch')}`, '-', '+');
      const stored = entries.map(([, fields]) => fields[1] ?? '');
      expect(stored.some((message) => message.includes('sphere.updated'))).toBe(true);
      expect(stored.some((message) => message.includes('cursor.moved'))).toBe(false);
      const roomKeys = await commands.keys('collab:h:*board*');
      for (const key of roomKeys) {
        if ((await commands.type(key)) !== 'stream') continue;
        const roomEntries = await commands.xrange(key, '-', '+');
        expect(roomEntries.some(([, fields]) => (fields[1] ?? '').includes('cursor.moved'))).toBe(false);
      }
    } finally {
      commands.disconnect();
    }
    seen.unsubscribe();
  });
});
