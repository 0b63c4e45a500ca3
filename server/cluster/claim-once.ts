/** Claim-once in one process: remembered for a bounded number of keys, the oldest forgotten first. */
import type { ClaimOnce } from './backend.js';

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
