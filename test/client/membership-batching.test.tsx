// @vitest-environment jsdom
/**
 * Issue 17 against a real server: distinct users joining one room with the official client each
 * receive one `room.membership` per window, not one event per join (O(windows), not O(N)), and
 * useRoomPresence ends with exactly the room's members; past ROOM_PRESENCE_DETAIL_MAX the hook
 * says `summary` and pages its first members with `rooms.memberPage`.
 */
import './node-realm.js';
import { waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { expandRoomMembership } from '../../shared/membership-batches.js';
import { useRoomPresence } from '../../client/react/index.js';
import { startServer, type TestClient, type TestServer } from '../support/server.js';
import { waitFor as waitUntil } from '../support/wait.js';
import { renderWithProvider } from './render-with-provider.js';

let t: TestServer | undefined;
afterEach(async () => t?.stop());

const membershipTypes = new Set(['room.joined', 'room.left', 'user.presence', 'user.idle', 'room.membership']);

async function joinAll(server: TestServer, roomId: string, userIds: readonly string[]) {
  const members = await Promise.all(
    userIds.map(async (userId) => {
      const client: TestClient = server.connect(await server.token(userId));
      const raw: RealtimeEvent[] = [];
      let started = false;
      client.api.onRoom.subscribe({ roomId }, { onData: ({ data }) => raw.push(data), onStarted: () => (started = true) });
      return { userId, client, raw, started: () => started };
    }),
  );
  await waitUntil(() => members.every((member) => member.started()), 'every subscription started');
  return members;
}

describe('membership batching with official clients', () => {
  it('gives each of N joining users O(windows) membership events, and the hook the exact members', async () => {
    t = await startServer({ membershipBatchMs: 1_000, roomPresenceDetailMax: 100 });
    const server = t;
    const roomId = 'crowd';
    const watcher = renderWithProvider(() => useRoomPresence(roomId), { url: server.url, token: await server.token('watcher') });
    await waitFor(() => expect(watcher.result.current?.members.has('watcher')).toBe(true));

    const userIds = Array.from({ length: 20 }, (_, index) => `crowd-${index}`);
    const members = await joinAll(server, roomId, userIds);
    const everyone = ['watcher', ...userIds].sort();
    // Every member hears every later join, listed in batches.
    await waitUntil(() => members.every(({ raw }) => raw.flatMap(expandRoomMembership).some((event) => event.type === 'room.joined' && event.data.userId === userIds.at(-1))), 'the last join heard by all', 10_000);

    const batchIds = new Set(members.flatMap(({ raw }) => raw.filter((event) => event.type === 'room.membership').map((event) => event.id)));
    for (const { raw } of members) {
      const membership = raw.filter((event) => membershipTypes.has(event.type));
      // Only batches on the wire, at most one per window that had changes: never one per join.
      expect(membership.every((event) => event.type === 'room.membership')).toBe(true);
      expect(membership.length).toBeLessThanOrEqual(batchIds.size);
    }
    // 20 joins at once fit in a few 1-second windows; unbatched, the first member alone would get 20 joins and their presence.
    expect(batchIds.size).toBeLessThan(userIds.length / 2);

    await waitFor(() => expect([...watcher.result.current!.members.keys()].sort()).toEqual(everyone));
    expect(watcher.result.current).toMatchObject({ mode: 'detail', memberCount: everyone.length });

    members[3]!.client.close();
    await waitFor(() => expect(watcher.result.current!.members.has('crowd-3')).toBe(false), { timeout: 10_000 });
    expect(watcher.result.current!.memberCount).toBe(everyone.length - 1);
    watcher.unmount();
  });

  it('above ROOM_PRESENCE_DETAIL_MAX: summaries with counts, the hook in summary mode, members paged', async () => {
    t = await startServer({ membershipBatchMs: 200, roomPresenceDetailMax: 5 });
    const server = t;
    const roomId = 'hall';
    const members = await joinAll(server, roomId, Array.from({ length: 8 }, (_, index) => `hall-${index}`));
    const watcher = renderWithProvider(() => useRoomPresence(roomId), { url: server.url, token: await server.token('hall-watcher') });
    await waitFor(() => expect(watcher.result.current).toMatchObject({ mode: 'summary', memberCount: 9 }));
    const summariesOf = (raw: RealtimeEvent[]) => raw.filter((event): event is RealtimeEvent<'room.membership'> => event.type === 'room.membership').map((event) => event.data);
    // The watcher's own join has gone out, so the next window holds only the leave.
    await waitUntil(() => summariesOf(members[1]!.raw).some((summary) => summary.memberCount === 9), "the watcher's join summed up");

    members[0]!.client.close();
    await waitFor(() => expect(watcher.result.current!.memberCount).toBe(8), { timeout: 10_000 });
    expect(summariesOf(members[1]!.raw).at(-1)).toEqual({ roomId, mode: 'summary', memberCount: 8, joined: 0, left: 1 });

    const reader = server.http(await server.token('hall-1'));
    const first = await reader.rooms.memberPage.query({ roomId, limit: 3 });
    const second = await reader.rooms.memberPage.query({ roomId, limit: 3, cursor: first.nextCursor! });
    expect(first).toMatchObject({ memberCount: 8, mode: 'summary' });
    expect([...first.items, ...second.items].map((member) => member.userId)).toEqual(['hall-1', 'hall-2', 'hall-3', 'hall-4', 'hall-5', 'hall-6']);
    watcher.unmount();
  });
});
