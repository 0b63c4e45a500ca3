/**
 * Claim-once: makes each governance action's outcome (a decision or the expiry) happen once even
 * when several processes race for it. The first claim wins; the loser publishes nothing.
 */

/** In one process a set; with Redis, `SET NX` (server/cluster/redis-decision-claims.ts). */
export interface DecisionClaims {
  claim(actionId: string): Promise<boolean>;
}

/** The embedded claims: remembered for a bounded number of actions. */
export class MemoryDecisionClaims implements DecisionClaims {
  private readonly claimed = new Set<string>();
  constructor(private readonly max = 100_000) {}
  async claim(actionId: string): Promise<boolean> {
    if (this.claimed.has(actionId)) return false;
    this.claimed.add(actionId);
    if (this.claimed.size > this.max) this.claimed.delete(this.claimed.values().next().value!);
    return true;
  }
}
