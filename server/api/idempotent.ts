/**
 * Wraps a publishing resolver so that a retry with the same `idempotencyKey` from the same
 * caller returns the first result instead of publishing again. The key is scoped to the caller
 * and the procedure; the payload's fingerprint tells a retry from a different publish.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { limits } from '../../shared/limits.js';
import type { AuthUser } from './auth.js';
import type { ApiContext } from './context.js';

export const idempotencyKeySchema = z.string().min(1).max(limits.maxIdempotencyKeyLength).optional();

type Resolver<TInput, TOutput> = (options: { ctx: ApiContext & { user: AuthUser }; input: TInput }) => Promise<TOutput>;

export function idempotent<TInput extends { idempotencyKey?: string | undefined }, TOutput>(
  procedure: string,
  resolver: Resolver<TInput, TOutput>,
): Resolver<TInput, TOutput> {
  return async (options) => {
    const { idempotencyKey, ...payload } = options.input;
    if (idempotencyKey === undefined) return resolver(options);
    const store = options.ctx.services.idempotency;
    const key = `${options.ctx.user.userId}\u0000${procedure}\u0000${idempotencyKey}`;
    const claim = await store.claim<TOutput>(key, fingerprint(payload));
    if (claim.status === 'duplicate') return claim.result;
    try {
      const result = await resolver(options);
      await store.complete(key, result);
      return result;
    } catch (error) {
      await store.release(key);
      throw error;
    }
  };
}

/** A hash of the payload that does not depend on key order. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('base64url');
}

function stableStringify(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableStringify(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
