/**
 * The safety net under the offline cleanup of a partitioned membership (cluster/membership-parts):
 * a user's leaves in other partitions follow their going offline as separate steps, and a join
 * that raced the cleanup (made for the session that was ending) lands after it. Every few
 * seconds each process looks, in its replica, for users who are in a room but not online; one
 * seen so for longer than the grace period has their session read from their partition and, when
 * still offline, is taken out of their rooms with it (leaveOffline keeps a room held for a newer
 * session, or for an offline user joined over HTTP). Bounded work per round; a user checked is
 * checked again only after `recheckAfterMs`.
 */
export interface OfflineSweepOptions {
  /** How long a member must be seen offline before they are checked. */
  graceMs: number;
  /** Users checked per round, at most. */
  perRound: number;
  /** How long before a checked user (who kept a room) is checked again. */
  recheckAfterMs: number;
  usersInRooms(): Iterable<string>;
  isOnline(userId: string): boolean;
  /** The user's session, read from their partition. */
  session(userId: string): Promise<{ online: boolean; gen: number }>;
  /** Takes the offline user out of their rooms, unless held for a later session. */
  leave(userId: string, gen: number): Promise<void>;
}

export class OfflineSweep {
  /** When each member was first seen offline (or, once checked, when to check them again less the grace). */
  private readonly offlineSince = new Map<string, number>();
  /** A round still checking (Redis slow or away) makes the next one skip, so rounds never pile up. */
  private running = false;

  constructor(private readonly options: OfflineSweepOptions) {}

  async run(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.round(now);
    } finally {
      this.running = false;
    }
  }

  private async round(now: number): Promise<void> {
    const { graceMs, perRound, recheckAfterMs } = this.options;
    const due: string[] = [];
    const offline = new Set<string>();
    for (const userId of this.options.usersInRooms()) {
      if (this.options.isOnline(userId)) continue;
      offline.add(userId);
      const since = this.offlineSince.get(userId);
      if (since === undefined) this.offlineSince.set(userId, now);
      else if (now - since >= graceMs && due.length < perRound) due.push(userId);
    }
    for (const userId of this.offlineSince.keys()) if (!offline.has(userId)) this.offlineSince.delete(userId);
    for (const userId of due) {
      this.offlineSince.set(userId, now + recheckAfterMs);
      const session = await this.options.session(userId);
      if (!session.online) await this.options.leave(userId, session.gen);
    }
  }
}
