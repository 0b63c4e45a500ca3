/**
 * Claim-once: makes something happen once even when several processes race for it (a
 * governance action's decision or expiry). The first claim of a key wins; the loser does nothing.
 * In one process a bounded set (here); with Redis, `SET NX` (server/cluster/redis-claims.ts).
 */
export interface ClaimOnce {
  /** True for the first claim of `key` (within the memory of the implementation), false after. */
  claim(key: string): Promise<boolean>;
}

/** The claims the governance workflow makes, one per action id. */
export type DecisionClaims = ClaimOnce;

/** Claim-once in one process: remembered for a bounded number of keys, the oldest forgotten first. */
export class MemoryClaimOnce implements ClaimOnce {
  private readonly claimed = new Set<string>();

  /** @param max keys remembered; an action is decided long before 100,000 later ones push it out. */
  constructor(private readonly max = 100_000) {}

  async claim(key: string): Promise<boolean> {
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    if (this.claimed.size > this.max) this.claimed.delete(this.claimed.values().next().value!);
    return true;
  }
}

/** The embedded decision claims (the name the governance workflow has always exported). */
export const MemoryDecisionClaims = MemoryClaimOnce;
export type MemoryDecisionClaims = MemoryClaimOnce;
