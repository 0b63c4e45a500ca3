/**
 * What one published event costs Redis, counted as INFO commandstats counts it (a script's own
 * calls included), rate-limit leases and background work included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { collect, ofType } from '../support/collect.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();

function commandCounts(info: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of info.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match && match[1] !== 'info') counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

describe.runIf(enabled)('the publish path', () => {
  let redis: TestRedis;
  let server: TestServer;
  let observer: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    server = await startServer({ redisUrl: redis.url, redisPrefix: 'cost', rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 });
    observer = new Redis(redis.url);
  }, 60_000);
  afterAll(async () => {
    observer?.disconnect();
    await server?.stop();
    await redis?.close();
  });

  it('costs 4 Redis commands per event in the steady state (EVALSHA, XADD × 2, PUBLISH), and rate-limit leases a few hundredths', async () => {
    const member = server.connect(await server.token('cost-member'));
    const stream = collect(member.api.onRoom, { roomId: 'costly' });
    const admin = server.connect(await server.token('cost-admin', 'admin'));
    await waitFor(async () => (await admin.api.rooms.members.query({ roomId: 'costly' })).length === 1, 'member in the room');
    const publish = (index: number) => admin.api.admin.broadcast.mutate({ roomId: 'costly', type: 'sphere.updated', data: { changed: [`${index}`] } });
    for (let index = 0; index < 20; index++) await publish(index); // warm-up: scripts loaded, leases taken
    const events = 500;
    const before = commandCounts(String(await observer.call('INFO', 'commandstats')));
    for (let index = 0; index < events; index++) await publish(index);
    const after = commandCounts(String(await observer.call('INFO', 'commandstats')));
    await waitFor(() => ofType(stream.events, 'sphere.updated').length === events + 20, 'every event delivered');
    const perEvent = [...after].map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / events] as const).filter(([, calls]) => calls > 0);
    const total = perEvent.reduce((sum, [, calls]) => sum + calls, 0);
    console.log(`redis commands per event: ${total.toFixed(2)} (${perEvent.map(([name, calls]) => `${name} ${calls.toFixed(2)}`).join(', ')})`);
    const calls = new Map(perEvent);
    // The publish script: its own call, the global and the room's stream, the PUBLISH.
    expect(calls.get('xadd')).toBe(2);
    expect(calls.get('publish')).toBe(1);
    // Beyond the publish script's own call: a lease script per 100 calls at this rule, and the
    // background's scripts (heartbeats, sweeps), which a busy machine stretches over more events.
    expect(calls.get('evalsha')).toBeLessThanOrEqual(1.05);
    // A lease is 5 commands: 0.05 per event at most, plus what heartbeats and sweeps did meanwhile.
    expect(total).toBeLessThanOrEqual(4.2);
  });
});
