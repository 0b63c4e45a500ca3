/**
 * Room membership in one process: the check-and-change half. A user is a member while anything
 * holds the membership: an explicit join, or one or more live `onRoom` subscriptions; the room
 * goes with its last member. Who is a member is not kept here but in `members`, the fold of the
 * joins and leaves this registry decides (core/room-membership), read by everyone.
 */
import { RealtimeError } from './errors.js';
import { RoomIndex, type RoomDetails } from './room-index.js';

export type { RoomDetails } from './room-index.js';

interface Hold {
  explicit: boolean;
  subscriptions: number;
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
  /** Members and the time they joined: changed only by folding `room.joined` / `room.left`. */
  readonly members = new RoomIndex<Date>();
  /** What holds each membership: room → user → hold. */
  private readonly holds = new Map<string, Map<string, Hold>>();

  constructor(private readonly limits: RoomLimits) {}

  /** Adds a hold; returns true when this makes the user a member (so a `room.joined` is due). */
  hold(roomId: string, userId: string, kind: MembershipHold): boolean {
    const existing = this.holds.get(roomId)?.get(userId);
    if (existing) {
      if (kind === 'explicit') existing.explicit = true;
      else existing.subscriptions++;
      return false;
    }
    if (this.members.roomCountOf(userId) >= this.limits.maxRoomsPerUser) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `A user may be in at most ${this.limits.maxRoomsPerUser} rooms`);
    }
    if (!this.members.hasRoom(roomId) && this.members.roomCount >= this.limits.maxRooms) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', `The service holds its maximum of ${this.limits.maxRooms} rooms`);
    }
    if (this.members.memberCount(roomId) >= this.limits.maxMembersPerRoom) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `Room ${roomId} is full`);
    }
    let roomHolds = this.holds.get(roomId);
    if (!roomHolds) this.holds.set(roomId, (roomHolds = new Map()));
    roomHolds.set(userId, { explicit: kind === 'explicit', subscriptions: kind === 'subscription' ? 1 : 0 });
    return true;
  }

  /** Releases a hold; returns true when nothing holds the membership any more (so a `room.left` is due). */
  release(roomId: string, userId: string, kind: MembershipHold): boolean {
    const roomHolds = this.holds.get(roomId);
    const hold = roomHolds?.get(userId);
    if (!roomHolds || !hold) return false;
    if (kind === 'explicit') hold.explicit = false;
    else hold.subscriptions = Math.max(0, hold.subscriptions - 1);
    if (hold.explicit || hold.subscriptions > 0) return false;
    roomHolds.delete(userId);
    if (roomHolds.size === 0) this.holds.delete(roomId);
    return true;
  }

  /** Drops every hold of the user; returns the rooms they are to leave. */
  releaseUser(userId: string): string[] {
    const rooms = this.members.roomsOf(userId);
    for (const roomId of rooms) {
      const roomHolds = this.holds.get(roomId);
      roomHolds?.delete(userId);
      if (roomHolds?.size === 0) this.holds.delete(roomId);
    }
    return rooms;
  }

  isMember(roomId: string, userId: string): boolean {
    return this.members.isMember(roomId, userId);
  }

  roomsOf(userId: string): string[] {
    return this.members.roomsOf(userId);
  }

  details(roomId: string): RoomDetails | undefined {
    return this.members.details(roomId);
  }
}
