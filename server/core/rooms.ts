/**
 * Room membership in one process. A user is a member while anything holds the membership: an
 * explicit join, or one or more live `onRoom` subscriptions; the room goes with its last member.
 */
import { RealtimeError } from './errors.js';
import { RoomIndex, type RoomDetails } from './room-index.js';

export type { RoomDetails } from './room-index.js';

interface Membership {
  explicit: boolean;
  subscriptions: number;
  joinedAt: Date;
}

export type MembershipHold = 'explicit' | 'subscription';

export interface RoomLimits {
  /** @default 10000 */
  maxRooms: number;
  /** @default 100 */
  maxRoomsPerUser: number;
  /** @default 10000 */
  maxMembersPerRoom: number;
}

export class RoomRegistry {
  private readonly index = new RoomIndex<Membership>();

  constructor(private readonly limits: RoomLimits) {}

  get roomCount(): number {
    return this.index.roomCount;
  }

  /** Adds a hold; returns true when this made the user a member (so a `room.joined` is due). */
  hold(roomId: string, userId: string, kind: MembershipHold): boolean {
    const existing = this.index.membership(roomId, userId);
    if (existing) {
      if (kind === 'explicit') existing.explicit = true;
      else existing.subscriptions++;
      return false;
    }
    if (this.index.roomCountOf(userId) >= this.limits.maxRoomsPerUser) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `A user may be in at most ${this.limits.maxRoomsPerUser} rooms`);
    }
    if (!this.index.hasRoom(roomId) && this.index.roomCount >= this.limits.maxRooms) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', `The service holds its maximum of ${this.limits.maxRooms} rooms`);
    }
    if (this.index.memberCount(roomId) >= this.limits.maxMembersPerRoom) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `Room ${roomId} is full`);
    }
    const now = new Date();
    this.index.add(roomId, userId, { explicit: kind === 'explicit', subscriptions: kind === 'subscription' ? 1 : 0, joinedAt: now }, now);
    return true;
  }

  /** Releases a hold; returns true when the user is no longer a member (so a `room.left` is due). */
  release(roomId: string, userId: string, kind: MembershipHold): boolean {
    const membership = this.index.membership(roomId, userId);
    if (!membership) return false;
    if (kind === 'explicit') membership.explicit = false;
    else membership.subscriptions = Math.max(0, membership.subscriptions - 1);
    if (membership.explicit || membership.subscriptions > 0) return false;
    this.index.remove(roomId, userId);
    return true;
  }

  /** Removes the user from every room; returns the rooms left. */
  removeUser(userId: string): string[] {
    return this.index.removeUser(userId);
  }

  isMember(roomId: string, userId: string): boolean {
    return this.index.isMember(roomId, userId);
  }

  members(roomId: string): Iterable<string> {
    return this.index.members(roomId);
  }

  roomsOf(userId: string): string[] {
    return this.index.roomsOf(userId);
  }

  details(roomId: string): RoomDetails | undefined {
    return this.index.details(roomId);
  }

  list(): RoomDetails[] {
    return this.index.list();
  }
}
