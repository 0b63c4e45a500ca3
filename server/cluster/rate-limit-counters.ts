/**
 * Rate-limit counters: a steady rate per second plus a burst allowance (refilled over ten
 * seconds), per key. In memory for one process (rate-limiter-flexible); across processes, a
 * token bucket in Redis that processes lease from in batches (leased-rate-limits.ts), counting
 * in memory while Redis is unreachable.
 */
import type { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitCounters, RateLimitRule } from './backend.js';
import { LeasedRateLimitCounters, type TokenLeaseStore } from './leased-rate-limits.js';

class BurstyCounters implements RateLimitCounters {
  constructor(private readonly limiter: BurstyRateLimiter) {}

  async consume(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }
}

const steadyOf = (rule: RateLimitRule) => ({ keyPrefix: 'steady', points: rule.perSecond, duration: 1 });
const burstOf = (rule: RateLimitRule) => ({ keyPrefix: 'burst', points: rule.burst, duration: 10 });

export function memoryRateLimitCounters(rule: RateLimitRule): RateLimitCounters {
  return new BurstyCounters(new BurstyRateLimiter(new RateLimiterMemory(steadyOf(rule)), new RateLimiterMemory(burstOf(rule))));
}

/**
 * The shared bucket: the steady allowance refills at `perSecond` up to `perSecond`, the burst at
 * `burst` per ten seconds up to `burst`; a lease takes from the steady part first. Redis's clock,
 * so processes on machines with different clocks count alike.
 * KEYS[1]: the bucket. ARGV: perSecond, burst, wanted. Returns { granted, waitMs }.
 */
const leaseScript = `
local perSecond, burst, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local steadyRate, burstRate = perSecond / 1000, burst / 10000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 's', 'b', 'at')
local elapsed = math.max(0, now - (tonumber(state[3]) or now))
local steady = math.min(perSecond, (tonumber(state[1]) or perSecond) + elapsed * steadyRate)
local burstLeft = math.min(burst, (tonumber(state[2]) or burst) + elapsed * burstRate)
local fromSteady = math.min(wanted, math.floor(steady))
local fromBurst = math.min(wanted - fromSteady, math.floor(burstLeft))
steady, burstLeft = steady - fromSteady, burstLeft - fromBurst
redis.call('HSET', KEYS[1], 's', tostring(steady), 'b', tostring(burstLeft), 'at', now)
redis.call('PEXPIRE', KEYS[1], 11000)
local waitMs = 0
if fromSteady + fromBurst == 0 then
  waitMs = math.ceil((1 - steady) / steadyRate)
  if burstRate > 0 then waitMs = math.min(waitMs, math.ceil((1 - burstLeft) / burstRate)) end
end
return { fromSteady + fromBurst, waitMs }
`;

type RedisWithLease = Redis & { realtimeLeaseTokens(key: string, perSecond: number, burst: number, wanted: number): Promise<[number, number]> };

/**
 * Tokens per lease: a tenth of a second of the steady rate (at least 1, at most 100), so the
 * overshoot across P processes stays within P tenths of a second's allowance (at most P × 100
 * calls) while a key at full rate costs Redis at most ten round trips a second per process.
 */
export const leaseSizeOf = (rule: RateLimitRule): number => Math.min(100, Math.max(1, Math.ceil(rule.perSecond / 10)));

export function redisRateLimitCounters(rule: RateLimitRule, redis: Redis, prefix: string, onError: (error: unknown, context: string) => void): RateLimitCounters {
  const commands = redis as RedisWithLease;
  if (!commands.realtimeLeaseTokens) redis.defineCommand('realtimeLeaseTokens', { numberOfKeys: 1, lua: leaseScript });
  const store: TokenLeaseStore = {
    async lease(key, wanted) {
      const [granted, waitMs] = await commands.realtimeLeaseTokens(`${prefix}:rl:{${key}}`, rule.perSecond, rule.burst, wanted);
      return { granted, waitMs };
    },
  };
  return new LeasedRateLimitCounters(store, { leaseSize: leaseSizeOf(rule), fallback: memoryRateLimitCounters(rule), onError });
}
