/**
 * Free-form JSON that arrives from the network (agent results, governance details, presence
 * metadata), nested at most `limits.maxJsonDepth` levels.
 *
 * Why not `z.json()`: it validates recursively, and so do superjson and JSON.stringify when the
 * value is sent on. A value ~2,000 levels deep passed validation, was stored in history, and then
 * overflowed the stack each time it was serialized (reliability test, hostile input): every
 * `admin.history` call answered INTERNAL_SERVER_ERROR until the event was evicted. This check
 * walks the value with an explicit stack, so no depth can overflow it, and refuses deep values
 * before anything stores them.
 */
import { z } from 'zod';
import { limits } from './limits.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** True for JSON (plain objects, arrays, strings, finite numbers, booleans, null) at most `maxDepth` deep. */
export function isBoundedJson(value: unknown, maxDepth: number = limits.maxJsonDepth): value is JsonValue {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const current = item.value;
    if (current === null || typeof current === 'string' || typeof current === 'boolean') continue;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) return false;
      continue;
    }
    if (typeof current !== 'object' || item.depth >= maxDepth) return false;
    let children: unknown[];
    if (Array.isArray(current)) children = current;
    else {
      const prototype: unknown = Object.getPrototypeOf(current);
      if (prototype !== Object.prototype && prototype !== null) return false;
      children = Object.values(current);
    }
    for (const child of children) pending.push({ value: child, depth: item.depth + 1 });
  }
  return true;
}

export const jsonValueSchema = z.custom<JsonValue>((value) => isBoundedJson(value), {
  message: `Expected JSON nested at most ${limits.maxJsonDepth} levels deep`,
});

/** UTF-8 bytes of `value` as JSON; Infinity when it cannot be serialized. */
export function serializedJsonBytes(value: unknown): number {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? 0 : new TextEncoder().encode(text).byteLength;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
