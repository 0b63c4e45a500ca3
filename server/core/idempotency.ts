/**
 * Idempotent publishing: a producer that retries a publish with the same idempotency key gets
 * the first publish's result instead of a second event. The store is an interface so that, with
 * Redis, the window holds across processes; the embedded store keeps it in this process.
 */
import { RealtimeError } from './errors.js';

export type IdempotencyClaim<T> =
  /** First use of the key: do the work, then `complete` (or `release` on failure). */
  | { status: 'claimed' }
  /** The key was used with the same payload: here is what that publish returned. */
  | { status: 'duplicate'; result: T };

export interface IdempotencyStore {
  /**
   * Claims `key` for a payload with this fingerprint. A key already completed with the same
   * fingerprint is a duplicate; with another fingerprint, a CONFLICT. A key whose first publish
   * is still running waits for it.
   */
  claim<T>(key: string, fingerprint: string): Promise<IdempotencyClaim<T>>;
  complete(key: string, result: unknown): Promise<void>;
  /** The publish failed: the key is free again, so a retry can succeed. */
  release(key: string): Promise<void>;
  /** Publishes answered from the store instead of publishing again (a metric). */
  readonly deduplicated: number;
}

interface Entry {
  fingerprint: string;
  expiresAt: number;
  result?: unknown;
  done: boolean;
  settled: Promise<void>;
  settle: () => void;
}

export interface MemoryIdempotencyOptions {
  /** How long a key is remembered. @default 300000 (5 minutes) */
  windowMs?: number;
  /** Keys remembered at most; the oldest are forgotten first. @default 100000 */
  maxKeys?: number;
  now?: () => number;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  deduplicated = 0;

  constructor(options: MemoryIdempotencyOptions = {}) {
    this.windowMs = options.windowMs ?? 300_000;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  async claim<T>(key: string, fingerprint: string): Promise<IdempotencyClaim<T>> {
    for (;;) {
      const entry = this.live(key);
      if (!entry) break;
      if (entry.fingerprint !== fingerprint) {
        throw new RealtimeError('CONFLICT', 'This idempotency key was already used with a different payload');
      }
      if (entry.done) {
        this.deduplicated++;
        return { status: 'duplicate', result: entry.result as T };
      }
      await entry.settled;
    }
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.entries.set(key, { fingerprint, expiresAt: this.now() + this.windowMs, done: false, settled, settle });
    this.forgetOldest();
    return { status: 'claimed' };
  }

  async complete(key: string, result: unknown): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.result = result;
    entry.done = true;
    entry.settle();
  }

  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry || entry.done) return;
    this.entries.delete(key);
    entry.settle();
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.done && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private forgetOldest(): void {
    // Map order is insertion order, so the first entries are the oldest claims.
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxKeys) break;
      if (entry.done) this.entries.delete(key);
      else break;
    }
  }
}
