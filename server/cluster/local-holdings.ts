/**
 * What this process holds in the cluster's membership state, kept locally so that it can be put
 * back when a partition of Redis loses its data: its connections, its subscriptions' room holds,
 * the explicit joins it made, and the session of each user connected here (their holds are made
 * for it, see sessionGen in membership-prelude).
 */
import type { HoldKind } from '../core/membership-state.js';

const memberOf = (roomId: string, userId: string) => `${roomId}\u0000${userId}`;
const split = (member: string) => member.split('\u0000') as [roomId: string, userId: string];

export class LocalHoldings {
  /** connection id → user id */
  readonly connections = new Map<string, string>();
  private readonly holds = new Map<string, number>();
  private readonly explicitHolds = new Set<string>();
  private readonly sessions = new Map<string, number>();

  connected(connectionId: string, userId: string): void {
    this.connections.set(connectionId, userId);
  }

  disconnected(connectionId: string, userId: string): void {
    this.connections.delete(connectionId);
    if (!this.isConnected(userId)) this.sessions.delete(userId);
  }

  isConnected(userId: string): boolean {
    for (const connected of this.connections.values()) if (connected === userId) return true;
    return false;
  }

  /** The session of a user connected here; undefined for any other. */
  sessionOf(userId: string): number | undefined {
    return this.sessions.get(userId);
  }

  setSession(userId: string, gen: number): void {
    if (this.isConnected(userId)) this.sessions.set(userId, gen);
  }

  users(): Set<string> {
    return new Set(this.connections.values());
  }

  held(roomId: string, userId: string, kind: HoldKind): void {
    const member = memberOf(roomId, userId);
    if (kind === 'explicit') this.explicitHolds.add(member);
    else this.holds.set(member, (this.holds.get(member) ?? 0) + 1);
  }

  released(roomId: string, userId: string, kind: HoldKind): void {
    const member = memberOf(roomId, userId);
    if (kind === 'explicit') {
      this.explicitHolds.delete(member);
      return;
    }
    const left = (this.holds.get(member) ?? 1) - 1;
    if (left <= 0) this.holds.delete(member);
    else this.holds.set(member, left);
  }

  /** Every hold to put back: each subscription's, and the explicit joins of users still connected here (the others are forgotten). */
  holdsToRestore(): Array<[roomId: string, userId: string, kind: HoldKind]> {
    const restore: Array<[string, string, HoldKind]> = [];
    for (const [member, count] of this.holds) for (let index = 0; index < count; index++) restore.push([...split(member), 'subscription']);
    for (const member of this.explicitHolds) {
      const [roomId, userId] = split(member);
      if (this.isConnected(userId)) restore.push([roomId, userId, 'explicit']);
      else this.explicitHolds.delete(member);
    }
    return restore;
  }
}
