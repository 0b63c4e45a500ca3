import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../../server/bus/redis-bus.js';
import type { BusEvent } from '../../server/bus/bus.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { Redis } from 'ioredis';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
let redis: TestRedis;
const buses: RedisBus[] = [];
beforeAll(async () => {
  if (enabled) redis = await startRedis();
});
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
  if (enabled) await redis.flush();
});
afterAll(async () => redis?.close());

async function bus(options: { historyPerChannel?: number } = {}) {
  const created = new RedisBus({ url: redis.url, prefix: 'test', onError: () => {}, ...options });
  await created.start();
  buses.push(created);
  return created;
}

function record(target: RedisBus) {
  const seen: BusEvent[] = [];
  target.subscribe((published) => seen.push(published));
  return seen;
}

describe.runIf(enabled)('RedisBus', () => {
  it('delivers every event to every process once, in publish order, with dates intact', async () => {
    const [a, b, c] = [await bus(), await bus(), await bus()];
    const seen = [record(a), record(b), record(c)];
    const published = [];
    for (let index = 0; index < 30; index++) {
      const from = [a, b, c][index % 3]!;
      published.push(await from.publish({ type: 'sphere.updated', data: { changed: [String(index)] }, channels: ['room:x'], roomId: 'x' }));
    }
    for (const list of seen) await waitFor(() => list.length === 30, 'thirty events');
    for (const list of seen) {
      expect(list.map((item) => item.event.id)).toEqual(published.map((event) => event.id));
      expect(list[0]!.event.timestamp).toBeInstanceOf(Date);
      expect(list[0]!.channels).toEqual(['room:x']);
    }
    const sequences = seen[0]!.map((item) => item.sequence);
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
  });

  it('reads history after an id from any process, and reports gaps past its bound', async () => {
    const [a, b] = [await bus({ historyPerChannel: 5 }), await bus({ historyPerChannel: 5 })];
    const first = await a.publish({ type: 'notification.new', data: { title: '0', message: '' }, channels: ['user:u'], userId: 'u' });
    const next = [];
    for (let index = 1; index <= 3; index++) {
      next.push(await a.publish({ type: 'notification.new', data: { title: String(index), message: '' }, channels: ['user:u'], userId: 'u' }));
    }
    const read = await b.readHistory(['user:u', 'all'], first.id, 100);
    expect(read.gap).toBeUndefined();
    expect(read.events.map((item) => item.event.id)).toEqual(next.map((event) => event.id));

    // MAXLEN ~ trims in whole nodes, so push far past the bound to force a trim.
    for (let index = 0; index < 400; index++) {
      await a.publish({ type: 'notification.new', data: { title: `x${index}`, message: '' }, channels: ['user:u'], userId: 'u' });
    }
    const late = await b.readHistory(['user:u'], first.id, 1000);
    expect(late.gap).toBe('history_evicted');
    expect((await b.readHistory(['user:u'], 'another-epoch-3', 10)).gap).toBe('service_restarted');
  });

  it('fails a publish clearly while Redis is away, says not ready, and recovers by itself without losing events', async () => {
    const [a, b] = [await bus(), await bus()];
    const seenByB = record(b);
    await a.publish({ type: 'ping', data: {}, channels: ['all'] });
    await waitFor(() => seenByB.length === 1, 'first event');

    await redis.stop();
    await waitFor(() => !a.health().ready, 'not ready');
    expect(a.health().reason).toMatch(/redis/);
    await expect(a.publish({ type: 'ping', data: {}, channels: ['all'] })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });

    await redis.start();
    await waitFor(() => a.health().ready && b.health().ready, 'ready again', 10_000);
    await a.publish({ type: 'pong', data: {}, channels: ['all'] });
    await waitFor(() => seenByB.length === 2, 'event after recovery', 5_000);
    expect(seenByB.map((item) => item.event.type)).toEqual(['ping', 'pong']);
  });

  it('keeps sequences a plain ms × 1000 + n past a thousand events in one millisecond (or a clock that went back)', async () => {
    const a = await bus();
    const first = await a.publish({ type: 'ping', data: {}, channels: ['user:u'] });
    // The global stream's last id set ahead of the clock at n = 998: the next ids are that
    // millisecond's 999, then its 1000th, which the script moves to the next millisecond.
    const commands = new Redis(redis.url);
    const ahead = Date.now() + 60_000;
    const epoch = first.id.slice(0, first.id.lastIndexOf('-'));
    await commands.xadd(`test:all:${epoch}`, `${ahead}-998`, 'm', '"ts":0,"ch":[],"e":{"json":{"type":"ping","data":{}}}}');
    commands.disconnect();
    const ids = [];
    for (let index = 0; index < 3; index++) ids.push((await a.publish({ type: 'ping', data: {}, channels: ['user:u'] })).id);
    const sequences = ids.map((id) => Number(id.slice(id.lastIndexOf('-') + 1)));
    expect(sequences).toEqual([ahead * 1000 + 999, (ahead + 1) * 1000, (ahead + 1) * 1000 + 1]);
    // Resume and replay read them like any other: in order, from the channel's stream.
    const replay = await a.readHistory(['user:u'], first.id, 10);
    expect(replay.events.map((item) => item.event.id)).toEqual(ids);
    expect(replay.gap).toBeUndefined();
  });
});
