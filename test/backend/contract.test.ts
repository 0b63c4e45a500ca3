/**
 * The backend contract (server/cluster/backend.ts), one suite for every backend: the same calls,
 * the same events, the same refusals. A new backend (Redis Cluster, NATS) is proven by adding
 * one line to `backends`. What only several processes can show (one view from every process,
 * reaping a dead one) is in test/redis/membership.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { channels, roomChannels } from '../../server/bus/channels.js';
import type { Backend } from '../../server/cluster/backend.js';
import { createMemoryBackend, type MemoryBackendOptions } from '../../server/cluster/memory-backend.js';
import { createRedisBackend, createRedisClusterBackend } from '../../server/cluster/redis-backend.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { redisClusterAvailable, startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';

type CommonOptions = Omit<MemoryBackendOptions, 'bus'>;

const redisEnabled = requireRedis();
let redis: TestRedis | undefined;
const clusterEnabled = redisEnabled && redisClusterAvailable();
let cluster: TestRedisCluster | undefined;

const backends: Array<{ name: string; enabled: boolean; create: (options: CommonOptions) => Backend }> = [
  { name: 'memory', enabled: true, create: (options) => createMemoryBackend(options) },
  { name: 'redis', enabled: redisEnabled, create: (options) => createRedisBackend({ ...options, url: redis!.url, prefix: 'contract' }) },
  {
    name: 'redis cluster',
    enabled: clusterEnabled,
    create: (options) => createRedisClusterBackend({ ...options, nodes: cluster!.nodes, prefix: 'contract', partitions: 6 }),
  },
];

beforeAll(async () => {
  if (redisEnabled) redis = await startRedis();
  if (clusterEnabled) cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await cluster?.close();
});

/** What an event says, without what differs by nature between runs (id, timestamps). */
function described(event: RealtimeEvent) {
  const { type, roomId, userId, senderId } = event;
  const data = { ...(event.data as Record<string, unknown>) };
  for (const field of ['lastSeen', 'idleSince']) if (field in data) data[field] = expect.any(Date);
  return { type, data, ...(roomId !== undefined && { roomId }), ...(userId !== undefined && { userId }), ...(senderId !== undefined && { senderId }) };
}

describe.each(backends)('$name backend', ({ enabled, create }) => {
  const running: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const stop of running.splice(0)) await stop();
    await redis?.flush();
    await cluster?.flush();
  });

  /** A started backend whose events are recorded and folded as the core does. */
  async function started() {
    const backend = create({
      maxRoomsPerUser: 2,
      typingExpireMs: 60_000,
      rateLimit: { perSecond: 3, burst: 2 },
      onError: () => {},
    });
    await backend.bus.start();
    const events: RealtimeEvent[] = [];
    backend.bus.subscribe((published) => {
      backend.membership.apply(published);
      // On a Redis Cluster a user's presence reaches rooms of other partitions as further parts
      // of the one event (its one id): a subscriber hears it once (core/partitioned-delivery).
      if (published.parts === undefined || !events.some((event) => event.id === published.event.id)) events.push(published.event);
    });
    await backend.membership.start();
    running.push(async () => {
      await backend.membership.stop();
      await backend.bus.close();
    });
    const since = (mark: number) => events.slice(mark).map(described);
    return { backend, events, since };
  }

  it.runIf(enabled)('delivers each event once, stamped, and replays what came after an id', async () => {
    const { backend, events } = await started();
    const first = await backend.bus.publish({ type: 'notification.new', data: { title: 'one', message: '' }, channels: ['user:u'], userId: 'u' });
    const second = await backend.bus.publish({ type: 'notification.new', data: { title: 'two', message: '' }, channels: ['user:u'], userId: 'u' });
    expect(first.timestamp).toBeInstanceOf(Date);
    // A publish resolves once stored; delivery to subscribers (Redis pub/sub) may follow it.
    await waitFor(() => events.length >= 2, 'both delivered');
    expect(events.map((event) => event.id)).toEqual([first.id, second.id]);
    // On a Redis Cluster the head is a cursor with a position per partition, this one among them.
    expect(backend.bus.headEventId()).toEqual(backend.bus.cursors ? expect.stringContaining(`~${second.id}`) : second.id);
    const read = await backend.bus.readHistory(['user:u'], first.id, 10);
    expect(read.gap).toBeUndefined();
    expect(read.events.map((published) => published.event)).toEqual([second]);
    expect((await backend.bus.readHistory(['user:u'], 'another-epoch-1', 10)).gap).toBe('service_restarted');
    expect((await backend.bus.recentHistory(1)).map((event) => event.id)).toEqual([second.id]);
  });

  it.runIf(enabled)('changes rooms and presence atomically, with the same events in the same order', async () => {
    const { backend, since } = await started();
    const { membership } = backend;
    await membership.connect('c1', 'alice');
    expect(since(0)).toEqual([
      { type: 'user.presence', data: { userId: 'alice', status: 'online', lastSeen: expect.any(Date) }, userId: 'alice', senderId: 'alice' },
      { type: 'connected', data: { userId: 'alice', connectionId: 'c1', connections: 1 }, userId: 'alice' },
    ]);
    let mark = since(0).length;
    await membership.hold('lobby', 'alice', 'subscription');
    await membership.hold('lobby', 'alice', 'explicit'); // already a member: no second event
    expect(since(mark)).toEqual([{ type: 'room.joined', data: { roomId: 'lobby', userId: 'alice' }, roomId: 'lobby', senderId: 'alice' }]);
    expect(membership.isMember('lobby', 'alice')).toBe(true);
    expect(membership.details('lobby')).toMatchObject({ roomId: 'lobby', memberCount: 1, members: ['alice'] });
    expect(membership.roomsOf('alice')).toEqual(['lobby']);
    expect(membership.roomCount).toBe(1);

    mark = since(0).length;
    await membership.release('lobby', 'alice', 'subscription', 'unsubscribed');
    expect(membership.isMember('lobby', 'alice')).toBe(true); // the explicit join still holds it
    await membership.updatePresence('alice', 'busy', { device: 'phone' });
    expect(since(mark)).toEqual([
      {
        type: 'user.presence',
        data: { userId: 'alice', status: 'busy', lastSeen: expect.any(Date), metadata: { device: 'phone' } },
        userId: 'alice',
        senderId: 'alice',
      },
    ]);
    expect(membership.presenceOf('alice')).toMatchObject({ status: 'busy', metadata: { device: 'phone' }, connections: 1 });
    expect(membership.online().map((presence) => presence.userId)).toEqual(['alice']);

    mark = since(0).length;
    await membership.disconnect('c1', 'alice', 'closed');
    const goneOffline = [
      { type: 'user.presence', data: { userId: 'alice', status: 'offline', lastSeen: expect.any(Date) }, userId: 'alice', senderId: 'alice' },
      { type: 'room.left', data: { roomId: 'lobby', userId: 'alice', reason: 'disconnected' }, roomId: 'lobby', senderId: 'alice' },
      { type: 'disconnected', data: { userId: 'alice', connectionId: 'c1', connections: 0, reason: 'closed' }, userId: 'alice' },
    ];
    if (backend.bus.cursors) {
      // A Redis Cluster orders each partition, not across them: the user's (presence, connections)
      // and the room's (the leave, after the presence part it got) may interleave either way.
      expect(since(mark)).toHaveLength(goneOffline.length);
      expect(since(mark)).toEqual(expect.arrayContaining(goneOffline));
      expect(since(mark).findIndex((event) => event.type === 'user.presence')).toBeLessThan(since(mark).findIndex((event) => event.type === 'room.left'));
    } else {
      expect(since(mark)).toEqual(goneOffline);
    }
    expect(membership.isMember('lobby', 'alice')).toBe(false);
    expect(membership.details('lobby')).toBeUndefined();
    expect(membership.presenceOf('alice')).toMatchObject({ status: 'offline', connections: 0 });
    expect(membership.presenceOf('alice')?.metadata).toBeUndefined();
  });

  it.runIf(enabled)('keeps membership events in the room’s membership history, apart from its own, so a resume replays them', async () => {
    const { backend } = await started();
    await backend.membership.connect('c1', 'bob');
    const before = backend.bus.headEventId()!;
    await backend.membership.hold('history-room', 'bob', 'explicit');
    await backend.membership.release('history-room', 'bob', 'explicit', 'left');
    const read = await backend.bus.readHistory(roomChannels('history-room'), before, 10);
    expect(read.events.map((published) => described(published.event))).toEqual([
      { type: 'room.joined', data: { roomId: 'history-room', userId: 'bob' }, roomId: 'history-room', senderId: 'bob' },
      { type: 'room.left', data: { roomId: 'history-room', userId: 'bob', reason: 'left' }, roomId: 'history-room', senderId: 'bob' },
    ]);
    expect((await backend.bus.readHistory([channels.room('history-room')], before, 10)).events).toEqual([]);
  });

  it.runIf(enabled)('shows typing once per change, and stops it when the typist leaves', async () => {
    const { backend, since } = await started();
    const { membership } = backend;
    await membership.connect('c1', 'carol');
    await membership.hold('chat', 'carol', 'explicit');
    const mark = since(0).length;
    await membership.setTyping('chat', 'carol', true);
    await membership.setTyping('chat', 'carol', true); // a refresh is not news
    expect(membership.typingIn('chat')).toEqual(['carol']);
    await membership.setTyping('chat', 'carol', false);
    await membership.setTyping('chat', 'carol', false); // neither is stopping twice
    expect(since(mark)).toEqual([
      { type: 'user.typing', data: { userId: 'carol', roomId: 'chat', isTyping: true }, roomId: 'chat', senderId: 'carol' },
      { type: 'user.typing', data: { userId: 'carol', roomId: 'chat', isTyping: false }, roomId: 'chat', senderId: 'carol' },
    ]);
    await membership.setTyping('chat', 'carol', true);
    await membership.release('chat', 'carol', 'explicit', 'left');
    expect(membership.typingIn('chat')).toEqual([]);
  });

  it.runIf(enabled)('refuses what its bounds and rules forbid, with the same codes', async () => {
    const { backend } = await started();
    const { membership } = backend;
    await membership.connect('c1', 'dan');
    await membership.hold('r1', 'dan', 'explicit');
    await membership.hold('r2', 'dan', 'explicit');
    await expect(membership.hold('r3', 'dan', 'explicit')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(membership.isMember('r3', 'dan')).toBe(false);
    await expect(membership.setTyping('not-mine', 'dan', true)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(membership.updatePresence('nobody', 'away')).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it.runIf(enabled)('lets a key be claimed once', async () => {
    const { backend } = await started();
    expect(await backend.decisionClaims.claim('action-1')).toBe(true);
    expect(await backend.decisionClaims.claim('action-1')).toBe(false);
    expect(await backend.decisionClaims.claim('action-2')).toBe(true);
  });

  it.runIf(enabled)('remembers idempotency keys: the first result for the same payload, CONFLICT for another', async () => {
    const { backend } = await started();
    const { idempotency } = backend;
    expect(await idempotency.claim('key-1', 'payload-a')).toEqual({ status: 'claimed' });
    const result = { eventId: 'e-1', at: new Date(1_000) };
    await idempotency.complete('key-1', result);
    expect(await idempotency.claim('key-1', 'payload-a')).toEqual({ status: 'duplicate', result });
    await expect(idempotency.claim('key-1', 'payload-b')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(idempotency.deduplicated).toBe(1);

    expect(await idempotency.claim('key-2', 'payload-a')).toEqual({ status: 'claimed' });
    await idempotency.release('key-2'); // the publish failed: the key is free again
    expect(await idempotency.claim('key-2', 'payload-c')).toEqual({ status: 'claimed' });
  });

  it.runIf(enabled)('counts calls per key: the steady rate plus the burst, then a wait', async () => {
    const { backend } = await started();
    const waits = [];
    for (let call = 0; call < 6; call++) waits.push(await backend.rateLimits.consume('user:erin'));
    expect(waits.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(waits[5]).toBeGreaterThan(0);
    expect(await backend.rateLimits.consume('user:frank')).toBe(0);
  });
});
