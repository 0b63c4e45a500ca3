/**
 * Idempotency keys in Redis, so a retry that lands on another process is still recognised. A
 * claim is `SET NX` with a short lease while the first publish runs; completing stores the result
 * (superjson) for the whole window. A second claim with the same fingerprint waits for the first
 * to finish and returns its result; with another fingerprint it is a CONFLICT.
 */
import { createHash } from 'node:crypto';
import superjson from 'superjson';
import type { Redis } from 'ioredis';
import { RealtimeError } from '../errors.js';
import type { IdempotencyClaim, IdempotencyStore } from '../core/idempotency.js';

export interface RedisIdempotencyOptions {
  redis: Redis;
  /** Key prefix, e.g. the bus's `rt`. */
  prefix: string;
  /** @default 300000 */
  windowMs?: number;
  /** How long a claim may stay unfinished before another caller may take it over. @default 30000 */
  leaseMs?: number;
}

interface Stored {
  fingerprint: string;
  done: boolean;
  result?: ReturnType<typeof superjson.serialize>;
}

const pollEveryMs = 25;

export class RedisIdempotencyStore implements IdempotencyStore {
  deduplicated = 0;
  private readonly windowMs: number;
  private readonly leaseMs: number;

  constructor(private readonly options: RedisIdempotencyOptions) {
    this.windowMs = options.windowMs ?? 300_000;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  async claim<T>(key: string, fingerprint: string): Promise<IdempotencyClaim<T>> {
    const redisKey = this.key(key);
    const pending: Stored = { fingerprint, done: false };
    const deadline = Date.now() + this.leaseMs + 1_000;
    while (Date.now() < deadline) {
      const claimed = await this.call(() => this.options.redis.set(redisKey, JSON.stringify(pending), 'PX', this.leaseMs, 'NX'));
      if (claimed === 'OK') return { status: 'claimed' };
      const raw = await this.call(() => this.options.redis.get(redisKey));
      if (raw === null) continue; // released or expired between the two calls: try again
      const stored = JSON.parse(raw) as Stored;
      if (stored.fingerprint !== fingerprint) {
        throw new RealtimeError('CONFLICT', 'This idempotency key was already used with a different payload');
      }
      if (stored.done) {
        this.deduplicated++;
        return { status: 'duplicate', result: (stored.result === undefined ? undefined : superjson.deserialize(stored.result)) as T };
      }
      await new Promise((resolve) => setTimeout(resolve, pollEveryMs));
    }
    throw new RealtimeError('SERVICE_UNAVAILABLE', 'A publish with this idempotency key is still in progress; retry later');
  }

  async complete(key: string, result: unknown): Promise<void> {
    const stored = await this.call(() => this.options.redis.get(this.key(key)));
    const fingerprint = stored === null ? '' : (JSON.parse(stored) as Stored).fingerprint;
    const done: Stored = { fingerprint, done: true, result: superjson.serialize(result) };
    await this.call(() => this.options.redis.set(this.key(key), JSON.stringify(done), 'PX', this.windowMs));
  }

  async release(key: string): Promise<void> {
    await this.call(() => this.options.redis.del(this.key(key)));
  }

  private key(key: string): string {
    // Hashed: keys carry user ids and caller-chosen strings of any length.
    return `${this.options.prefix}:idem:${createHash('sha256').update(key).digest('base64url')}`;
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', 'The idempotency store (Redis) is unavailable', { cause });
    }
  }
}
