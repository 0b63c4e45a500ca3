/**
 * Rate limits across processes over a real Redis: three backends (each as a process has it) lease
 * from one shared bucket. The allowed calls stay within the rule plus the stated overshoot
 * (P × leaseSize), and Redis is asked once per lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Backend } from '../../server/cluster/backend.js';
import { createRedisBackend } from '../../server/cluster/redis-backend.js';
import { leaseSizeOf } from '../../server/cluster/rate-limit-counters.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';

const enabled = requireRedis();
const rule = { perSecond: 100, burst: 50 };
const processCount = 3;

describe.runIf(enabled)('leased rate limits over Redis', () => {
  let redis: TestRedis;
  const backends: Backend[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let index = 0; index < processCount; index++) {
      const backend = createRedisBackend({ url: redis.url, prefix: 'leases', rateLimit: rule, onError: () => {} });
      await backend.bus.start();
      backends.push(backend);
    }
  });
  afterAll(async () => {
    for (const backend of backends) await backend.bus.close();
    await redis?.close();
  });

  it('allows at most the rule plus P × leaseSize across processes, and asks Redis once per lease', async () => {
    const leaseSize = leaseSizeOf(rule);
    const observer = new Redis(redis.url);
    const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(String(await observer.call('INFO', 'commandstats')))?.[1] ?? 0);
    const before = await scriptCalls();
    const startedAt = Date.now();
    const waits = await Promise.all(Array.from({ length: 900 }, (_, index) => backends[index % processCount]!.rateLimits.consume('user:flood')));
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    const leases = (await scriptCalls()) - before;
    observer.disconnect();
    const allowed = waits.filter((wait) => wait === 0).length;
    // What the shared bucket can grant in the time the calls took: both allowances, plus what refilled.
    const granted = rule.perSecond + rule.burst + Math.ceil(elapsedSeconds * (rule.perSecond + rule.burst / 10));
    console.log(`leased limits: ${allowed} of 900 allowed over ${processCount} processes (bucket ${granted}, lease ${leaseSize}), ${leases} lease scripts`);
    expect(allowed).toBeLessThanOrEqual(granted + processCount * leaseSize);
    expect(allowed).toBeGreaterThanOrEqual(rule.perSecond + rule.burst - processCount * leaseSize);
    // One script per lease and per "empty" answer: far fewer than one per call.
    expect(leases).toBeLessThanOrEqual(Math.ceil(allowed / leaseSize) + processCount * 2 + 10);
  });
});
