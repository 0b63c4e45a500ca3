/**
 * Rooms indexed both ways (room → members, user → rooms), a room deleted the moment its last
 * member leaves. The local registry keeps its holds in it; the cluster replica its join times.
 */
export interface RoomDetails {
  roomId: string;
  createdAt: Date;
  memberCount: number;
  members: string[];
}

interface IndexedRoom<M> {
  readonly createdAt: Date;
  readonly members: Map<string, M>;
}

export class RoomIndex<M> {
  private readonly rooms = new Map<string, IndexedRoom<M>>();
  private readonly roomsByUser = new Map<string, Set<string>>();

  get roomCount(): number {
    return this.rooms.size;
  }

  hasRoom(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  memberCount(roomId: string): number {
    return this.rooms.get(roomId)?.members.size ?? 0;
  }

  roomCountOf(userId: string): number {
    return this.roomsByUser.get(userId)?.size ?? 0;
  }

  membership(roomId: string, userId: string): M | undefined {
    return this.rooms.get(roomId)?.members.get(userId);
  }

  /** Adds (or replaces) a member; the room is created, with `createdAt`, if it does not exist. */
  add(roomId: string, userId: string, membership: M, createdAt: Date): void {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = { createdAt, members: new Map() }));
    room.members.set(userId, membership);
    let userRooms = this.roomsByUser.get(userId);
    if (!userRooms) this.roomsByUser.set(userId, (userRooms = new Set()));
    userRooms.add(roomId);
  }

  remove(roomId: string, userId: string): void {
    const room = this.rooms.get(roomId);
    room?.members.delete(userId);
    if (room?.members.size === 0) this.rooms.delete(roomId);
    const userRooms = this.roomsByUser.get(userId);
    userRooms?.delete(roomId);
    if (userRooms?.size === 0) this.roomsByUser.delete(userId);
  }

  /** Removes the user from every room; returns the rooms left. */
  removeUser(userId: string): string[] {
    const left = this.roomsOf(userId);
    for (const roomId of left) this.remove(roomId, userId);
    return left;
  }

  clear(): void {
    this.rooms.clear();
    this.roomsByUser.clear();
  }

  isMember(roomId: string, userId: string): boolean {
    return this.rooms.get(roomId)?.members.has(userId) ?? false;
  }

  members(roomId: string): Iterable<string> {
    return this.rooms.get(roomId)?.members.keys() ?? [];
  }

  /** Every user who is in a room. */
  users(): Iterable<string> {
    return this.roomsByUser.keys();
  }

  roomsOf(userId: string): string[] {
    return [...(this.roomsByUser.get(userId) ?? [])];
  }

  details(roomId: string): RoomDetails | undefined {
    const room = this.rooms.get(roomId);
    if (!room) return undefined;
    return { roomId, createdAt: room.createdAt, memberCount: room.members.size, members: [...room.members.keys()] };
  }

  list(): RoomDetails[] {
    return [...this.rooms.keys()].map((roomId) => this.details(roomId)!);
  }
}
