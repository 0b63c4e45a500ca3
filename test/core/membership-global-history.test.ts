/**
 * Issue 17: the embedded bus keeps membership changes (connections, joins, leaves, presence,
 * typing) in a global log of their own (HISTORY_GLOBAL_MEMBERSHIP). A storm of joins, 5,000 users
 * (re)connecting, can then neither push the other events out of the firehose's and
 * `admin.history`'s history nor hold memory in proportion to the users.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { firehoseChannel } from '../../server/bus/channels.js';

describe('MemoryBus global history of membership changes', () => {
  it('keeps the other events through a storm of joins, and only the newest joins', async () => {
    const bus = new MemoryBus({ epoch: 'e', globalHistory: 100, globalMembershipHistory: 10 });
    const start = bus.headEventId();
    const broadcasts = [];
    for (let index = 0; index < 5; index++) {
      broadcasts.push(await bus.publish({ type: 'system.maintenance', data: { message: `m${index}` }, channels: ['all'] }));
    }
    const joins = [];
    for (let index = 0; index < 50; index++) {
      joins.push(await bus.publish({ type: 'room.joined', data: { roomId: 'big', userId: `u${index}` }, channels: ['room-members:big'], roomId: 'big' }));
    }
    const last = await bus.publish({ type: 'system.maintenance', data: { message: 'after' }, channels: ['all'] });

    const read = await bus.readHistory([firehoseChannel], start, 1_000);
    // The early joins are gone, and said to be: a gap, never a silent skip.
    expect(read.gap).toBe('history_evicted');
    expect(read.events.map((item) => item.event.id)).toEqual([...broadcasts, ...joins.slice(-10), last].map((event) => event.id));

    const recent = await bus.recentHistory(1_000);
    expect(recent.map((event) => event.id)).toEqual([...broadcasts, ...joins.slice(-10), last].map((event) => event.id).reverse());
    expect((await bus.recentHistory(3)).map((event) => event.id)).toEqual([last.id, joins[49]!.id, joins[48]!.id]);

    // The room's own membership channel keeps its own bound (HISTORY_PER_CHANNEL), not this one.
    expect((await bus.readHistory(['room-members:big'], start, 1_000)).events).toHaveLength(50);
  });
});
