/**
 * Room membership, indexed both ways (room → members, user → rooms), with a room deleted the
 * moment its last member leaves. A user is a member while anything holds the membership: an
 * explicit join, or one or more live `onRoom` subscriptions.
 */
import { RealtimeError } from './errors.js';

interface Membership {
  explicit: boolean;
  subscriptions: number;
  joinedAt: Date;
}

interface Room {
  readonly id: string;
  readonly createdAt: Date;
  readonly members: Map<string, Membership>;
}

export interface RoomDetails {
  roomId: string;
  createdAt: Date;
  memberCount: number;
  members: string[];
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
  private readonly rooms = new Map<string, Room>();
  private readonly roomsByUser = new Map<string, Set<string>>();

  constructor(private readonly limits: RoomLimits) {}

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Adds a hold; returns true when this made the user a member (so a `room.joined` is due). */
  hold(roomId: string, userId: string, kind: MembershipHold): boolean {
    let room = this.rooms.get(roomId);
    const userRooms = this.roomsByUser.get(userId);
    const existing = room?.members.get(userId);
    if (existing) {
      if (kind === 'explicit') existing.explicit = true;
      else existing.subscriptions++;
      return false;
    }
    if ((userRooms?.size ?? 0) >= this.limits.maxRoomsPerUser) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `A user may be in at most ${this.limits.maxRoomsPerUser} rooms`);
    }
    if (!room) {
      if (this.rooms.size >= this.limits.maxRooms) {
        throw new RealtimeError('SERVICE_UNAVAILABLE', `The service holds its maximum of ${this.limits.maxRooms} rooms`);
      }
      room = { id: roomId, createdAt: new Date(), members: new Map() };
      this.rooms.set(roomId, room);
    }
    if (room.members.size >= this.limits.maxMembersPerRoom) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `Room ${roomId} is full`);
    }
    room.members.set(userId, {
      explicit: kind === 'explicit',
      subscriptions: kind === 'subscription' ? 1 : 0,
      joinedAt: new Date(),
    });
    if (userRooms) userRooms.add(roomId);
    else this.roomsByUser.set(userId, new Set([roomId]));
    return true;
  }

  /** Releases a hold; returns true when the user is no longer a member (so a `room.left` is due). */
  release(roomId: string, userId: string, kind: MembershipHold): boolean {
    const membership = this.rooms.get(roomId)?.members.get(userId);
    if (!membership) return false;
    if (kind === 'explicit') membership.explicit = false;
    else membership.subscriptions = Math.max(0, membership.subscriptions - 1);
    if (membership.explicit || membership.subscriptions > 0) return false;
    this.remove(roomId, userId);
    return true;
  }

  /** Removes the user from every room; returns the rooms left. */
  removeUser(userId: string): string[] {
    const left = [...(this.roomsByUser.get(userId) ?? [])];
    for (const roomId of left) this.remove(roomId, userId);
    return left;
  }

  isMember(roomId: string, userId: string): boolean {
    return this.rooms.get(roomId)?.members.has(userId) ?? false;
  }

  members(roomId: string): Iterable<string> {
    return this.rooms.get(roomId)?.members.keys() ?? [];
  }

  roomsOf(userId: string): string[] {
    return [...(this.roomsByUser.get(userId) ?? [])];
  }

  details(roomId: string): RoomDetails | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    return {
      roomId: room.id,
      createdAt: room.createdAt,
      memberCount: room.members.size,
      members: [...room.members.keys()],
    };
  }

  list(): RoomDetails[] {
    return [...this.rooms.keys()].map((roomId) => this.details(roomId)!);
  }

  private remove(roomId: string, userId: string): void {
    const room = this.rooms.get(roomId);
    room?.members.delete(userId);
    if (room && room.members.size === 0) this.rooms.delete(roomId);
    const userRooms = this.roomsByUser.get(userId);
    userRooms?.delete(roomId);
    if (userRooms?.size === 0) this.roomsByUser.delete(userId);
  }
}
