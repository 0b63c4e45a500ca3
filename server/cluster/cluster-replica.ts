/**
 * Every process's read model of the cluster's rooms, presence and typing: a snapshot of every
 * partition taken at start, then folded from the membership and presence events in each
 * partition's order (rooms with the same fold as the embedded membership, core/room-membership).
 * Reads are synchronous and local (the fan-out asks "who is in this room?" for every room event),
 * and they answer for the whole cluster, because every process sees every partition's events.
 */
import type { RealtimeEvent } from '../../shared/events.js';
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import { RoomIndex, type RoomDetails } from '../core/room-index.js';
import { foldRoomMembership } from '../core/room-membership.js';

interface ReplicaPresence {
  status: PresenceStatus;
  metadata?: Record<string, unknown>;
  lastSeen: Date;
  connections: number;
  idle: boolean;
}

/**
 * What a partition answers for: state of other rooms and users found in its snapshot (left by
 * another layout, before membership was split over the partitions) is not loaded.
 */
export interface PartitionOwnership {
  room(roomId: string): boolean;
  user(userId: string): boolean;
}

const ownsAll: PartitionOwnership = { room: () => true, user: () => true };

/** One partition's state (cluster/partition-scripts snapshotScript). */
export interface ClusterSnapshot {
  /** The newest sequence, as text (16 digits: more than Lua's cjson writes exactly). */
  seq: string;
  epoch: string;
  /** Flat [roomId, createdAtMs, …] (HGETALL). */
  rooms: string[] | Record<string, never>;
  /** [roomId, [userId, joinedAtMs, …]]. */
  members: Array<[string, string[] | Record<string, never>]> | Record<string, never>;
  /** [userId, [field, value, …] of the presence hash, total connections]. */
  online: Array<[string, string[] | Record<string, never>, number]> | Record<string, never>;
  /** `roomId\0userId` members of the typing set. */
  typing: string[] | Record<string, never>;
}

/** Lua's cjson encodes an empty table as `{}`: read every list through this. */
const list = <T>(value: T[] | Record<string, never>): T[] => (Array.isArray(value) ? value : []);

function pairs(flat: string[]): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (let index = 0; index + 1 < flat.length; index += 2) result.push([flat[index]!, flat[index + 1]!]);
  return result;
}

export class ClusterReplica {
  /** Members with the time they joined. */
  private readonly rooms = new RoomIndex<Date>();
  /** Rooms known from the snapshot before any member was read (kept for their creation time). */
  private readonly roomCreatedAt = new Map<string, Date>();
  private readonly presence = new Map<string, ReplicaPresence>();
  private readonly typing = new Map<string, Set<string>>();
  /** Per epoch (each partition has its own): events up to this Redis sequence are already in the snapshot. */
  private readonly snapshotSequences = new Map<string, number>();
  /** While snapshots are being fetched: the events folded meanwhile (see reload). */
  private arrivingDuringReload: Array<[RealtimeEvent, number, string]> | undefined;

  /**
   * Replaces the state with snapshots fetched now. Events that arrive while the snapshots are on
   * their way are folded into the old state and would be wiped by the load: they are kept and
   * folded again after it (those a snapshot already holds are skipped). Without this, a member put
   * back by another process during a Redis recovery went missing from this process's view.
   */
  async reload(fetch: () => Promise<ReadonlyArray<[ClusterSnapshot, PartitionOwnership]>>): Promise<void> {
    const arrived: Array<[RealtimeEvent, number, string]> = [];
    this.arrivingDuringReload = arrived;
    try {
      this.load(await fetch());
      for (const [event, sequence, epoch] of arrived) this.fold(event, sequence, epoch);
    } finally {
      if (this.arrivingDuringReload === arrived) this.arrivingDuringReload = undefined;
    }
  }

  /** Replaces the state with the partitions' snapshots (each room and each user is in one of them). */
  load(snapshots: ReadonlyArray<[ClusterSnapshot, PartitionOwnership?]>): void {
    this.rooms.clear();
    this.presence.clear();
    this.typing.clear();
    this.snapshotSequences.clear();
    for (const [snapshot, owns] of snapshots) this.loadPartition(snapshot, owns ?? ownsAll);
  }

  private loadPartition(snapshot: ClusterSnapshot, owns: PartitionOwnership): void {
    this.roomCreatedAt.clear();
    this.snapshotSequences.set(snapshot.epoch, Number(snapshot.seq));
    for (const [roomId, createdAt] of pairs(list(snapshot.rooms))) this.roomCreatedAt.set(roomId, new Date(Number(createdAt)));
    for (const [roomId, flatMembers] of list(snapshot.members)) {
      if (!owns.room(roomId)) continue;
      const createdAt = this.roomCreatedAt.get(roomId) ?? new Date();
      for (const [userId, joinedAt] of pairs(list(flatMembers))) this.rooms.add(roomId, userId, new Date(Number(joinedAt)), createdAt);
    }
    this.roomCreatedAt.clear();
    for (const [userId, flatPresence, connections] of list(snapshot.online)) {
      if (!owns.user(userId)) continue;
      const fields = Object.fromEntries(pairs(list(flatPresence)));
      const idle = fields.idle === '1';
      const chosen = (fields.status ?? 'online') as PresenceStatus;
      this.presence.set(userId, {
        status: idle && chosen === 'online' ? 'away' : chosen,
        ...(fields.metadata !== undefined && { metadata: JSON.parse(fields.metadata) as Record<string, unknown> }),
        lastSeen: new Date(Number(fields.lastSeen ?? 0)),
        connections,
        idle,
      });
    }
    for (const member of list(snapshot.typing)) {
      const [roomId, userId] = member.split('\u0000') as [string, string];
      if (owns.room(roomId)) this.setTyping(roomId, userId, true);
    }
  }

  /**
   * Folds one event in. `redisSequence` and `epoch` identify it in Redis: events the snapshot
   * already holds are skipped.
   */
  apply(event: RealtimeEvent, redisSequence: number, epoch: string): void {
    this.arrivingDuringReload?.push([event, redisSequence, epoch]);
    this.fold(event, redisSequence, epoch);
  }

  private fold(event: RealtimeEvent, redisSequence: number, epoch: string): void {
    if (redisSequence <= (this.snapshotSequences.get(epoch) ?? 0)) return;
    foldRoomMembership(this.rooms, event, event.timestamp);
    switch (event.type) {
      case 'room.left':
        this.setTyping(event.data.roomId, event.data.userId, false);
        break;
      case 'user.presence': {
        const previous = this.presence.get(event.data.userId);
        const offline = event.data.status === 'offline';
        this.presence.set(event.data.userId, {
          status: event.data.status,
          ...(event.data.metadata !== undefined && { metadata: event.data.metadata as Record<string, unknown> }),
          lastSeen: event.data.lastSeen,
          connections: offline ? 0 : Math.max(1, previous?.connections ?? 1),
          idle: false,
        });
        break;
      }
      case 'user.idle': {
        const current = this.presence.get(event.data.userId);
        if (current) {
          current.idle = true;
          if (current.status === 'online') current.status = 'away';
        }
        break;
      }
      case 'user.typing':
        this.setTyping(event.data.roomId, event.data.userId, event.data.isTyping);
        break;
      case 'connected':
      case 'disconnected': {
        const current = this.presence.get(event.data.userId);
        if (current) current.connections = event.data.connections;
        break;
      }
      default:
        break;
    }
  }

  isMember(roomId: string, userId: string): boolean {
    return this.rooms.isMember(roomId, userId);
  }

  members(roomId: string): Iterable<string> {
    return this.rooms.members(roomId);
  }

  roomsOf(userId: string): string[] {
    return this.rooms.roomsOf(userId);
  }

  details(roomId: string): RoomDetails | undefined {
    return this.rooms.details(roomId);
  }

  list(): RoomDetails[] {
    return this.rooms.list();
  }

  get roomCount(): number {
    return this.rooms.roomCount;
  }

  presenceOf(userId: string): UserPresence | undefined {
    const record = this.presence.get(userId);
    return record && { userId, ...record };
  }

  online(): UserPresence[] {
    return this.all().filter((presence) => presence.connections > 0);
  }

  all(): UserPresence[] {
    return [...this.presence.keys()].map((userId) => this.presenceOf(userId)!);
  }

  typingIn(roomId: string): string[] {
    return [...(this.typing.get(roomId) ?? [])];
  }

  /** Rooms where someone is typing. */
  typingRooms(): Iterable<string> {
    return this.typing.keys();
  }

  /** Every user who is in a room. */
  usersInRooms(): Iterable<string> {
    return this.rooms.users();
  }

  private setTyping(roomId: string, userId: string, isTyping: boolean): void {
    let typists = this.typing.get(roomId);
    if (isTyping) {
      if (!typists) this.typing.set(roomId, (typists = new Set()));
      typists.add(userId);
      return;
    }
    typists?.delete(userId);
    if (typists?.size === 0) this.typing.delete(roomId);
  }
}
