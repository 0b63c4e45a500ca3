/**
 * Issue 13, amplification: with Redis, a presence update's metadata is stored once (the user's
 * presence key and the global stream), not copied into the stream of every room the user is in,
 * and an offline user's presence key expires instead of staying forever.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { RealtimeEvent } from '../../shared/events.js';
import { limits } from '../../shared/limits.js';
import { roomChannels } from '../../server/bus/channels.js';
import { RedisBus } from '../../server/bus/redis-bus.js';
import { RedisMembership } from '../../server/cluster/redis-membership.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
const rooms = 100;
let redis: TestRedis;
const stops: Array<() => Promise<void>> = [];
beforeAll(async () => {
  if (enabled) redis = await startRedis();
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  if (enabled) await redis.flush();
});
afterAll(async () => redis?.close());

async function node() {
  const bus = new RedisBus({ url: redis.url, prefix: 'p', historyTtlSeconds: 3_600, onError: () => {} });
  await bus.start();
  const events: RealtimeEvent[] = [];
  const state = new RedisMembership({
    bus,
    idleAfterMs: 60_000,
    typingExpireMs: 5_000,
    maxRooms: 1_000,
    maxRoomsPerUser: rooms,
    maxMembersPerRoom: 100,
    onError: () => {},
  });
  bus.subscribe((published) => {
    state.apply(published);
    events.push(published.event);
  });
  await state.start();
  stops.push(async () => {
    await state.stop();
    await bus.close();
  });
  return { bus, state, events };
}

/** Bytes Redis reports for every key of the prefix (MEMORY USAGE, all samples). */
async function keyBytes(client: Redis): Promise<number> {
  let total = 0;
  for (const key of await client.keys('p:*')) total += Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return total;
}

describe.runIf(enabled)('presence metadata in Redis', () => {
  it('stores metadata once, not per room stream; an offline user loses it and their presence key expires', async () => {
    const { bus, state, events } = await node();
    const client = new Redis(redis.url);
    try {
      await state.connect('c1', 'alice');
      for (let index = 0; index < rooms; index++) await state.hold(`r${index}`, 'alice', 'explicit');
      // Metadata at the bound: ~2 KiB serialized.
      const metadata = { note: 'x'.repeat(limits.maxPresenceMetadataBytes - 20) };
      const updates = 20;
      const before = await keyBytes(client);
      for (let index = 0; index < updates; index++) await state.updatePresence('alice', index % 2 ? 'busy' : 'away', metadata);
      const grown = (await keyBytes(client)) - before;
      const perUpdate = grown / updates;
      console.log(`[reliability] presence update with ${limits.maxPresenceMetadataBytes} B metadata, user in ${rooms} rooms: Redis +${Math.round(perUpdate)} B per update`);
      // Copied into each room's stream this was > rooms × 2 KiB (200 kB) per update; now the
      // global stream's copy plus a small entry per room.
      expect(perUpdate).toBeLessThan(limits.maxPresenceMetadataBytes * 2 + rooms * 400);

      // Live: the event carries the metadata; replayed from a room's stream: without it.
      const live = events.filter((event) => event.type === 'user.presence').at(-1);
      expect(live?.type === 'user.presence' && live.data.metadata).toEqual(metadata);
      const replay = await bus.readHistory(roomChannels('r7'), `${bus.epoch}-1`, 1_000);
      const replayed = replay.events.map((item) => item.event).filter((event) => event.type === 'user.presence');
      expect(replayed).toHaveLength(updates);
      for (const event of replayed) expect(event.type === 'user.presence' && event.data.metadata).toBeUndefined();
      expect(state.presenceOf('alice')?.metadata).toEqual(metadata);

      // Online: the presence key never expires; offline: it expires with history's TTL.
      expect(await client.ttl('p:presence:alice')).toBe(-1);
      await state.disconnect('c1', 'alice', 'closed');
      await waitFor(() => state.presenceOf('alice')?.status === 'offline', 'alice offline');
      const ttl = await client.ttl('p:presence:alice');
      expect(await client.hget('p:presence:alice', 'metadata')).toBeNull();
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3_600);
      // Coming back makes it permanent again.
      await state.connect('c2', 'alice');
      expect(await client.ttl('p:presence:alice')).toBe(-1);
    } finally {
      client.disconnect();
    }
  });
});
