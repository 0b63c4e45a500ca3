/**
 * The embedded backend: one process, everything in memory. The default of `npm start` and of
 * `createRealtimeServer` without REDIS_URL.
 */
import { historyDefaults, type EventBus } from '../bus/bus.js';
import { MemoryBus } from '../bus/memory-bus.js';
import { MemoryIdempotencyStore } from '../core/idempotency.js';
import { createLocalMembership } from '../core/local-membership.js';
import type { Backend, BackendOptions } from './backend.js';
import { MemoryClaimOnce } from '../core/decision-claims.js';
import { memoryRateLimitCounters } from './rate-limit-counters.js';

export interface MemoryBackendOptions extends BackendOptions {
  /** @default a MemoryBus with the history bounds below */
  bus?: EventBus;
  historyBytesPerChannel?: number;
  historyBytesTotal?: number;
  /** Membership changes kept in the global history (bus/bus historyDefaults.globalMembership). */
  historyGlobalMembership?: number;
}

export function createMemoryBackend(options: MemoryBackendOptions): Backend {
  const bus =
    options.bus ??
    new MemoryBus({
      historyPerChannel: options.historyPerChannel ?? historyDefaults.perChannel,
      globalHistory: options.historyGlobal ?? historyDefaults.global,
      historyBytesPerChannel: options.historyBytesPerChannel ?? historyDefaults.bytesPerChannel,
      historyBytesTotal: options.historyBytesTotal ?? historyDefaults.bytesTotal,
      globalMembershipHistory: options.historyGlobalMembership ?? historyDefaults.globalMembership,
    });
  const membership = createLocalMembership(options, bus, options.onError);
  return {
    bus,
    membership,
    decisionClaims: new MemoryClaimOnce(),
    idempotency: new MemoryIdempotencyStore({ ...(options.idempotencyWindowMs !== undefined && { windowMs: options.idempotencyWindowMs }) }),
    rateLimits: memoryRateLimitCounters(options.rateLimit),
    // One process: statistics need no per-process breakdown.
    reportProcessStats: () => {},
  };
}
