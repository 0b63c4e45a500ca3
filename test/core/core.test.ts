import { afterEach, describe, expect, it } from 'vitest';
import { channels, firehoseChannel } from '../../server/core/channels.js';
import type { RealtimeServices } from '../../server/core/service.js';
import { recorder, startServices, testConnection } from './support.js';

let services: RealtimeServices;
afterEach(async () => services?.stop());

describe('core routing', () => {
  it('delivers a room broadcast once to each member subscription, and to nobody else', async () => {
    services = await startServices();
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    const bob = testConnection('c2', 'bob');
    const carol = testConnection('c3', 'carol');
    for (const connection of [alice, bob, carol]) core.connect(connection);
    const [a, b, c] = [recorder(), recorder(), recorder()];
    await core.subscribe({ connection: alice, channels: [channels.room('r')], holdRoom: 'r', sink: a.sink });
    await core.subscribe({ connection: bob, channels: [channels.room('r')], holdRoom: 'r', sink: b.sink });
    await core.subscribe({ connection: carol, channels: [channels.room('other')], holdRoom: 'other', sink: c.sink });

    await core.broadcastToRoom('r', 'sphere.updated', { changed: ['name'] }, 'admin');
    expect(a.events.filter((event) => event.type === 'sphere.updated')).toHaveLength(1);
    expect(b.events.filter((event) => event.type === 'sphere.updated')).toHaveLength(1);
    expect(c.events.filter((event) => event.type === 'sphere.updated')).toHaveLength(0);
  });

  it('sends to one user only, on every device of that user', async () => {
    services = await startServices();
    const { core } = services;
    const phone = testConnection('p', 'alice');
    const laptop = testConnection('l', 'alice');
    const other = testConnection('o', 'bob');
    const [onPhone, onLaptop, onOther] = [recorder(), recorder(), recorder()];
    for (const [connection, sink] of [[phone, onPhone], [laptop, onLaptop], [other, onOther]] as const) {
      core.connect(connection);
      await core.subscribe({ connection, channels: [channels.user(connection.userId)], sink: sink.sink });
    }
    await core.sendToUser('alice', 'notification.new', { title: 'Hi', message: 'there' });
    expect(onPhone.types()).toEqual(['notification.new']);
    expect(onLaptop.types()).toEqual(['notification.new']);
    expect(onOther.types()).toEqual([]);
  });

  it('follows the rooms a user joins and leaves, without duplicates across channels', async () => {
    services = await startServices();
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    core.connect(alice);
    const feed = recorder();
    await core.subscribe({ connection: alice, channels: [channels.user('alice'), channels.everyone], followRoomsOfUser: true, sink: feed.sink });
    await core.broadcastToRoom('r', 'sphere.updated', { changed: ['before'] });
    core.joinRoom('alice', 'r');
    await core.broadcastToRoom('r', 'sphere.updated', { changed: ['during'] });
    await core.broadcastToAll('system.maintenance', { message: 'soon' });
    core.leaveRoom('alice', 'r');
    await core.broadcastToRoom('r', 'sphere.updated', { changed: ['after'] });
    const updates = feed.events.filter((event) => event.type === 'sphere.updated').map((event) => (event.data as { changed: string[] }).changed[0]);
    expect(updates).toEqual(['during']);
    expect(feed.types()).toContain('system.maintenance');
    expect(feed.types().filter((type) => type === 'room.joined')).toHaveLength(1);
  });

  it('validates data against the catalog before publishing', async () => {
    services = await startServices();
    await expect(services.core.sendToUser('alice', 'agent.progress', { agentId: 'a', progress: 150 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(services.core.stats().totalEvents).toBe(0);
  });

  it('gives admins a firehose of every event', async () => {
    services = await startServices();
    const { core } = services;
    const admin = testConnection('a', 'root');
    core.connect(admin);
    const all = recorder();
    await core.subscribe({ connection: admin, channels: [firehoseChannel], sink: all.sink });
    await core.sendToUser('bob', 'notification.new', { title: 't', message: 'm' });
    await core.broadcastToRoom('x', 'sphere.updated', { changed: [] });
    expect(all.types()).toEqual(['notification.new', 'sphere.updated']);
  });
});

describe('resume', () => {
  it('replays what a subscription missed after lastEventId, in order, none twice', async () => {
    services = await startServices();
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    core.connect(alice);
    const first = recorder();
    const subscription = await core.subscribe({ connection: alice, channels: [channels.user('alice')], sink: first.sink });
    await core.sendToUser('alice', 'notification.new', { title: '1', message: '' });
    const lastSeen = first.events.at(-1)!.id;
    subscription.close();
    for (const title of ['2', '3', '4']) await core.sendToUser('alice', 'notification.new', { title, message: '' });
    await core.sendToUser('bob', 'notification.new', { title: 'not yours', message: '' });

    const resumed = recorder();
    await core.subscribe({ connection: alice, channels: [channels.user('alice')], lastEventId: lastSeen, sink: resumed.sink });
    await core.sendToUser('alice', 'notification.new', { title: '5', message: '' });
    expect(resumed.events.map((event) => (event.data as { title: string }).title)).toEqual(['2', '3', '4', '5']);
  });

  it('says so when the requested id is older than history holds', async () => {
    services = await startServices({ bus: new (await import('../../server/bus/memory-bus.js')).MemoryBus({ epoch: 't', historyPerChannel: 3 }) });
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    core.connect(alice);
    const first = await core.sendToUser('alice', 'notification.new', { title: '0', message: '' });
    for (let index = 1; index <= 5; index++) await core.sendToUser('alice', 'notification.new', { title: String(index), message: '' });
    const resumed = recorder();
    await core.subscribe({ connection: alice, channels: [channels.user('alice')], lastEventId: first.id, sink: resumed.sink });
    expect(resumed.events[0]).toMatchObject({ type: 'stream.gap', data: { lastEventId: first.id, reason: 'history_evicted' } });
    expect(resumed.events.slice(1).map((event) => (event.data as { title: string }).title)).toEqual(['3', '4', '5']);
  });

  it('reports a gap for an id from another epoch (a restarted service) or a malformed id', async () => {
    services = await startServices();
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    core.connect(alice);
    const fromRestart = recorder();
    await core.subscribe({ connection: alice, channels: [channels.user('alice')], lastEventId: 'oldepoch-12', sink: fromRestart.sink });
    expect(fromRestart.events[0]).toMatchObject({ type: 'stream.gap', data: { reason: 'service_restarted' } });
    const malformed = recorder();
    await core.subscribe({ connection: alice, channels: [channels.user('alice')], lastEventId: 'nonsense', sink: malformed.sink });
    expect(malformed.events[0]).toMatchObject({ type: 'stream.gap', data: { reason: 'unknown_event_id' } });
  });
});

describe('lifecycle and leaks', () => {
  it('removes every index entry when subscriptions close and connections go', async () => {
    services = await startServices();
    const { core } = services;
    const connections = Array.from({ length: 20 }, (_, index) => testConnection(`c${index}`, `user${index % 5}`));
    for (const connection of connections) {
      core.connect(connection);
      await core.subscribe({ connection, channels: [channels.room('r')], holdRoom: 'r', sink: () => {} });
      await core.subscribe({ connection, channels: [channels.user(connection.userId), channels.everyone], followRoomsOfUser: true, sink: () => {} });
    }
    expect(core.stats().subscriptions).toBe(40);
    expect(core.indexedChannelCount).toBeGreaterThan(0);
    for (const connection of connections) core.disconnect(connection);
    expect(core.stats()).toMatchObject({ subscriptions: 0, activeConnections: 0, activeUsers: 0, activeRooms: 0, onlineUsers: 0 });
    expect(core.indexedChannelCount).toBe(0);
  });

  it('takes a user offline and out of their rooms when the last device disconnects', async () => {
    services = await startServices();
    const { core } = services;
    const phone = testConnection('p', 'alice');
    const laptop = testConnection('l', 'alice');
    const watcher = testConnection('w', 'bob');
    for (const connection of [phone, laptop, watcher]) core.connect(connection);
    core.joinRoom('alice', 'r');
    const room = recorder();
    await core.subscribe({ connection: watcher, channels: [channels.room('r')], holdRoom: 'r', sink: room.sink });
    core.disconnect(phone);
    expect(core.presenceOf('alice').status).toBe('online');
    expect(core.isRoomMember('r', 'alice')).toBe(true);
    core.disconnect(laptop);
    expect(core.presenceOf('alice')).toMatchObject({ status: 'offline', connections: 0 });
    expect(core.isRoomMember('r', 'alice')).toBe(false);
    const seen = room.events.filter((event) => event.userId === 'alice' || event.senderId === 'alice').map((event) => event.type);
    expect(seen).toEqual(['user.presence', 'room.left']);
    expect(room.events.find((event) => event.type === 'user.presence')).toMatchObject({ data: { status: 'offline' } });
  });

  it('deletes a room the moment it empties and reports statistics', async () => {
    services = await startServices();
    const { core } = services;
    core.connect(testConnection('c', 'alice'));
    core.joinRoom('alice', 'r1');
    core.joinRoom('alice', 'r2');
    expect(core.listRooms().map((room) => room.roomId).sort()).toEqual(['r1', 'r2']);
    expect(core.roomDetails('r1')).toMatchObject({ roomId: 'r1', memberCount: 1, members: ['alice'] });
    core.leaveRoom('alice', 'r1');
    expect(core.roomDetails('r1')).toBeUndefined();
    const stats = core.stats();
    expect(stats).toMatchObject({ activeConnections: 1, activeUsers: 1, activeRooms: 1, onlineUsers: 1 });
    expect(stats.eventsByType['room.joined']).toBe(2);
    expect(stats.eventsByType['room.left']).toBe(1);
    expect(stats.totalEvents).toBe(Object.values(stats.eventsByType).reduce((sum, count) => sum + (count ?? 0), 0));
  });

  it('keeps history bounded and filterable', async () => {
    services = await startServices();
    const { core } = services;
    for (let index = 0; index < 30; index++) await core.broadcastToRoom(index % 2 ? 'odd' : 'even', 'sphere.updated', { changed: [String(index)] });
    const odd = await core.history({ roomId: 'odd', limit: 5 });
    expect(odd).toHaveLength(5);
    expect(odd.every((event) => event.roomId === 'odd')).toBe(true);
    const ids = odd.map((event) => Number(event.id.split('-')[1]));
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });
});
