/**
 * The backend contract: what decides whether one process or many act as one service. A backend
 * is the bus, the atomic membership operations (rooms, presence, typing) with their read model,
 * claim-once (each governance decision and expiry happens once), the idempotency store and the
 * rate-limit counters. Nothing in it names a vendor: the HTTP layer and the core receive a
 * `Backend`, and a new one (Redis Cluster, NATS) is proven by adding one line to
 * test/backend/contract.test.ts.
 *
 * Two implementations: memory-backend.ts (one process, the default) and redis-backend.ts.
 */
import type { EventBus } from '../bus/bus.js';
import type { IdempotencyStore } from '../core/idempotency.js';
import type { MembershipState } from '../core/membership-state.js';
import type { ClaimOnce } from '../core/decision-claims.js';

/** The first caller to claim a key wins; every later claim of it, from any process, loses (core/decision-claims.ts). */
export type { ClaimOnce } from '../core/decision-claims.js';

/** Calls per key: a steady rate per second plus a burst allowance, shared by every process. */
export interface RateLimitCounters {
  /** Takes one call from `key`'s allowance: 0 when it may proceed, else the milliseconds to wait. */
  consume(key: string): Promise<number>;
}

export interface RateLimitRule {
  /** Calls per second, steady. */
  perSecond: number;
  /** Extra calls allowed in a burst, refilled over ten seconds. */
  burst: number;
}

export interface Backend {
  readonly bus: EventBus;
  /** Rooms, presence and typing: atomic changes, synchronous reads. */
  readonly membership: MembershipState;
  /** Who decided or expired a governance action first. */
  readonly decisionClaims: ClaimOnce;
  readonly idempotency: IdempotencyStore;
  readonly rateLimits: RateLimitCounters;
  /** Numbers this process reports for the per-process breakdown of statistics (where there are several). */
  reportProcessStats(source: () => Record<string, number>): void;
}

/** What every backend is built with, whatever it runs on. */
export interface BackendOptions {
  historyPerChannel?: number;
  historyGlobal?: number;
  idleAfterMs?: number;
  typingExpireMs?: number;
  maxRooms?: number;
  maxRoomsPerUser?: number;
  maxMembersPerRoom?: number;
  /** @default 300000 */
  idempotencyWindowMs?: number;
  rateLimit: RateLimitRule;
  /** Where failures of the events the service emits by itself go; never thrown into a caller. */
  onError: (error: unknown, context: string) => void;
}
