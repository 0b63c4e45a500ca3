/**
 * Membership batching in the core, with plain objects and fake timers: a room's joins, leaves,
 * presence and idle changes reach its members as one `room.membership` per window, listed up to
 * ROOM_PRESENCE_DETAIL_MAX members and summed up above it; the firehose still gets each change.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { expandRoomMembership } from '../../shared/membership-batches.js';
import { channels, firehoseChannel } from '../../server/core/channels.js';
import type { RealtimeServices } from '../../server/core/service.js';
import { recorder, startServices, testConnection } from './support.js';

const windowMs = 100;
let services: RealtimeServices;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(async () => {
  await services?.stop();
  vi.useRealTimers();
});

async function joinMembers(count: number, roomId: string, prefix: string) {
  const sinks = [];
  for (let index = 0; index < count; index++) {
    const connection = testConnection(`${prefix}-c${index}`, `${prefix}${index}`);
    await services.core.connect(connection);
    const sink = recorder();
    await services.core.subscribe({ connection, channels: [channels.room(roomId)], holdRoom: roomId, sink: sink.sink });
    sinks.push(sink);
  }
  return sinks;
}

const batches = (events: RealtimeEvent[]) => events.filter((event): event is RealtimeEvent<'room.membership'> => event.type === 'room.membership');

describe('membership batching', () => {
  it('delivers the joins of one window as one event listing them, in order, with the ids of their stored events', async () => {
    services = await startServices({ membershipBatchMs: windowMs, roomPresenceDetailMax: 100 });
    const [first, ...rest] = await joinMembers(20, 'r', 'u');
    expect(first!.events).toEqual([]); // nothing before the window ends
    await vi.advanceTimersByTimeAsync(windowMs);

    for (const sink of [first!, ...rest]) {
      expect(sink.types()).toEqual(['room.membership']);
      const [batch] = batches(sink.events);
      expect(batch!.data).toMatchObject({ roomId: 'r', mode: 'detail', memberCount: 20 });
    }
    const singles = expandRoomMembership(first!.events[0]!).filter((event) => event.type === 'room.joined');
    expect(singles.map((event) => (event.data as { userId: string }).userId)).toEqual(Array.from({ length: 20 }, (_, index) => `u${index}`));
    const stored = await services.core.history({ type: 'room.joined', limit: 100 });
    expect(new Set(singles.map((event) => event.id))).toEqual(new Set(stored.map((event) => event.id)));
  });

  it('sends one event per window however many join: O(windows) per member, not O(members)', async () => {
    services = await startServices({ membershipBatchMs: windowMs, roomPresenceDetailMax: 1_000 });
    const watcher = (await joinMembers(1, 'big', 'w'))[0]!;
    for (let window = 0; window < 5; window++) {
      await joinMembers(40, 'big', `wave${window}-`);
      await vi.advanceTimersByTimeAsync(windowMs);
    }
    expect(batches(watcher.events)).toHaveLength(5);
    const joined = watcher.events.flatMap(expandRoomMembership).filter((event) => event.type === 'room.joined');
    expect(joined).toHaveLength(201);
  });

  it('sums a room above ROOM_PRESENCE_DETAIL_MAX up: size, joined and left of the window, no members', async () => {
    services = await startServices({ membershipBatchMs: windowMs, roomPresenceDetailMax: 10 });
    const sinks = await joinMembers(15, 'large', 'm');
    await vi.advanceTimersByTimeAsync(windowMs);
    expect(batches(sinks[0]!.events).map((event) => event.data)).toEqual([{ roomId: 'large', mode: 'summary', memberCount: 15, joined: 15, left: 0 }]);

    // The next summary waits for ROOM_SUMMARY_MS (1 s) since the last, adding up the windows between.
    await services.core.disconnect({ id: 'm-c14', userId: 'm14' });
    await vi.advanceTimersByTimeAsync(windowMs);
    await services.core.disconnect({ id: 'm-c13', userId: 'm13' });
    await vi.advanceTimersByTimeAsync(windowMs);
    expect(batches(sinks[0]!.events)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000 - 2 * windowMs);
    expect(batches(sinks[0]!.events)).toHaveLength(2);
    expect(batches(sinks[0]!.events).at(-1)!.data).toEqual({ roomId: 'large', mode: 'summary', memberCount: 13, joined: 0, left: 2 });
    expect(services.core.roomMemberPage('large', { limit: 5 })).toMatchObject({ memberCount: 13, mode: 'summary' });

    // A presence change alone moves no count: a summary room sends nothing for it.
    const before = sinks[0]!.events.length;
    await services.core.updatePresence('m0', 'busy');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sinks[0]!.events).toHaveLength(before);
  });

  it('lists presence and idle changes of members, and gives the firehose and operators each change at once', async () => {
    services = await startServices({ membershipBatchMs: windowMs, roomPresenceDetailMax: 100 });
    const [alice] = await joinMembers(2, 'p', 'pp');
    const admin = testConnection('admin-c', 'root');
    await services.core.connect(admin);
    const firehose = recorder();
    const operators = recorder();
    await services.core.subscribe({ connection: admin, channels: [firehoseChannel], sink: firehose.sink });
    await services.core.subscribe({ connection: admin, channels: [channels.presence], sink: operators.sink });
    await vi.advanceTimersByTimeAsync(windowMs);
    alice!.events.length = 0;

    await services.core.updatePresence('pp1', 'away');
    expect(firehose.types()).toContain('user.presence');
    expect(operators.types()).toEqual(['user.presence']);
    expect(alice!.events).toEqual([]);
    await vi.advanceTimersByTimeAsync(windowMs);
    const [batch] = batches(alice!.events);
    expect(batch!.data).toMatchObject({ mode: 'detail', changes: [{ type: 'user.presence', data: { userId: 'pp1', status: 'away' } }] });
    expect(firehose.types().filter((type) => type === 'room.membership')).toEqual([]);
  });

  it('folds the membership changes a resume replays into one batch per room (a summary above the limit)', async () => {
    services = await startServices({ membershipBatchMs: windowMs, roomPresenceDetailMax: 10 });
    const head = services.bus.headEventId()!;
    await joinMembers(30, 'back', 'b');
    await services.core.broadcastToRoom('back', 'sphere.updated', { changed: ['missed'] });
    const returning = testConnection('ret-c', 'returning');
    await services.core.connect(returning);
    const sink = recorder();
    await services.core.subscribe({ connection: returning, channels: [channels.room('back')], holdRoom: 'back', lastEventId: head, sink: sink.sink });
    // The missed broadcast one by one; the 30 missed joins (and its own) as one summary, not 31 events.
    expect(sink.types()).toEqual(['sphere.updated', 'room.membership']);
    expect(batches(sink.events)[0]!.data).toEqual({ roomId: 'back', mode: 'summary', memberCount: 31, joined: 31, left: 0 });
  });

  it('pages members in user id order with a cursor', async () => {
    services = await startServices({ membershipBatchMs: windowMs });
    await joinMembers(7, 'paged', 'z');
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = services.core.roomMemberPage('paged', { cursor, limit: 3 });
      seen.push(...result.items.map((member) => member.userId));
      expect(result.memberCount).toBe(7);
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(['z0', 'z1', 'z2', 'z3', 'z4', 'z5', 'z6']);
  });

  it('with batching off (0) delivers each change as its own event, as before', async () => {
    services = await startServices({ membershipBatchMs: 0 });
    const [first] = await joinMembers(3, 'plain', 'q');
    expect(first!.types().filter((type) => type === 'room.joined')).toHaveLength(3);
  });
});
