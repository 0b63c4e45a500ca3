/**
 * Collaboration against a real server with the official client: members publish cursors and
 * selections into their rooms (refused to non-members and for server-owned types), ephemeral
 * types are coalesced, never in admin.history nor replayed on resume, and durable ones are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import type { RealtimeEvent } from '../../shared/events.js';

const hz = 10;
/** The x of the newest cursor.moved received. */
const lastX = (events: RealtimeEvent[]) => {
  const last = events.findLast((event) => event.type === 'cursor.moved');
  return last?.type === 'cursor.moved' ? last.data.x : undefined;
};
let server: TestServer;

beforeAll(async () => {
  // A high call allowance: the coalescing is under test here, not the per-user rate limit.
  server = await startServer({ ephemeralHz: hz, rateLimitPerSecond: 5_000, rateLimitBurst: 5_000 });
});
afterAll(async () => {
  await server.stop();
});

const member = async (userId: string, roomId: string) => {
  const client = server.connect(await server.token(userId));
  await client.api.rooms.join.mutate({ roomId });
  return client.api;
};

describe('rooms.publish for collaboration', () => {
  it('refuses non-members, server-owned types and bad payloads; senderId is the caller', async () => {
    const ann = await member('ann', 'doc:1');
    const outsider = server.connect(await server.token('outsider')).api;
    await expect(outsider.rooms.publish.mutate({ roomId: 'doc:1', type: 'cursor.moved', data: { x: 1, y: 2 } })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    const forged = { type: 'user.presence', data: { userId: 'ann', status: 'online', lastSeen: new Date() } } as never;
    await expect(ann.rooms.publish.mutate({ roomId: 'doc:1', ...(forged as object) } as never)).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    const notification = { type: 'notification.new', data: { title: 't', message: 'm' } } as never;
    await expect(ann.rooms.publish.mutate({ roomId: 'doc:1', ...(notification as object) } as never)).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    await expect(ann.rooms.publish.mutate({ roomId: 'doc:1', type: 'selection.changed', data: { target: 'cell', start: -1, end: 2 } })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
    const { event } = await ann.rooms.publish.mutate({ roomId: 'doc:1', type: 'selection.changed', data: { target: 'cell', start: 1, end: 4 } });
    expect(event).toMatchObject({ type: 'selection.changed', senderId: 'ann', roomId: 'doc:1' });
  });

  it('delivers 1,000 moves as at most EPHEMERAL_HZ a second, the last one exact', async () => {
    const mover = await member('mover', 'doc:2');
    const watcher = await member('watcher', 'doc:2');
    const seen = collect(watcher.onRoom, { roomId: 'doc:2' });
    await waitFor(() => seen.started, 'subscribed');
    const startedAt = Date.now();
    // 1,000 moves as fast as the client sends them, in batches so the calls overlap.
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, index) => mover.rooms.publish.mutate({ roomId: 'doc:2', type: 'cursor.moved', data: { x: batch * 100 + index, y: 7 } })),
      );
    }
    await waitFor(() => lastX(seen.events) === 999, 'the last move');
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    const moves = ofType(seen.events, 'cursor.moved');
    // An upper bound, whatever the machine's speed: one at once, then one per 1/hz interval.
    expect(moves.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds * hz) + 1);
    expect(moves.length).toBeLessThan(1000);
    expect(moves.at(-1)).toMatchObject({ data: { x: 999, y: 7 }, senderId: 'mover' });
    await sleep(2 * (1000 / hz));
    expect(lastX(seen.events)).toBe(999);
    seen.unsubscribe();
  });

  it('stores and replays a durable type, never an ephemeral one', async () => {
    const writer = await member('writer', 'doc:3');
    const { lastEventId } = await writer.streamHead.query();
    await writer.rooms.publish.mutate({ roomId: 'doc:3', type: 'cursor.moved', data: { x: 1, y: 1 } });
    await server.server.services.core.broadcastToRoom('doc:3', 'sphere.updated', { changed: ['title'] }, 'writer');
    await writer.rooms.publish.mutate({ roomId: 'doc:3', type: 'selection.changed', data: { target: 'title', start: 0, end: 5 } });

    const resumed = collect(writer.onRoom, { roomId: 'doc:3', lastEventId: lastEventId ?? undefined });
    await waitFor(() => ofType(resumed.events, 'sphere.updated').length === 1, 'the durable event replayed');
    await sleep(50);
    expect(resumed.events.map((event) => event.type)).not.toContain('cursor.moved');
    expect(resumed.events.map((event) => event.type)).not.toContain('selection.changed');
    const admin = server.http(await server.token('root', 'admin'));
    const history = await admin.admin.history.query({ roomId: 'doc:3' });
    expect(history.map((event) => event.type)).toContain('sphere.updated');
    expect(history.map((event) => event.type)).not.toContain('cursor.moved');
    resumed.unsubscribe();
  });
});
