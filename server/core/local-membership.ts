/**
 * Rooms, presence and typing of one process, in memory: the embedded default. Every operation
 * checks and changes the state synchronously and publishes the changes it made, each turned into
 * its event by the one function that does so (bus/membership-events); who is in which room is
 * the fold of those events (core/room-membership), as on every process of a cluster.
 */
import type { UserPresence } from '../../shared/presence.js';
import { membershipEvent, type MembershipChange, type MembershipEvent, type PresenceMetadata } from '../bus/membership-events.js';
import { RealtimeError } from './errors.js';
import type { EventBus } from '../bus/bus.js';
import { membershipDefaults, type ChosenStatus, type HoldKind, type LeaveReason, type MembershipState } from './membership-state.js';
import { PresenceTracker, type PresenceChangeKind } from './presence.js';
import { foldRoomMembership } from './room-membership.js';
import { RoomRegistry, type RoomDetails, type RoomLimits } from './rooms.js';
import { TypingTracker } from './typing.js';

/** Publishes an event the service emits by itself; failures are reported, never thrown. */
export type BackgroundPublish = (request: MembershipEvent) => void;

export interface LocalMembershipOptions extends RoomLimits {
  idleAfterMs: number;
  typingExpireMs: number;
  publish: BackgroundPublish;
}

/**
 * The embedded membership with the default bounds and timings for what `options` leaves out,
 * publishing over `bus`; a failed publish is reported to `onError`, never thrown.
 */
export function createLocalMembership(
  options: Partial<RoomLimits> & { idleAfterMs?: number; typingExpireMs?: number },
  bus: Pick<EventBus, 'publish'>,
  onError: (error: unknown, context: string) => void,
): LocalMembership {
  return new LocalMembership({
    maxRooms: options.maxRooms ?? membershipDefaults.maxRooms,
    maxRoomsPerUser: options.maxRoomsPerUser ?? membershipDefaults.maxRoomsPerUser,
    maxMembersPerRoom: options.maxMembersPerRoom ?? membershipDefaults.maxMembersPerRoom,
    idleAfterMs: options.idleAfterMs ?? membershipDefaults.idleAfterMs,
    typingExpireMs: options.typingExpireMs ?? membershipDefaults.typingExpireMs,
    publish: (request) => {
      bus.publish(request).catch((error: unknown) => onError(error, `publishing ${request.type}`));
    },
  });
}

export class LocalMembership implements MembershipState {
  private readonly rooms: RoomRegistry;
  private readonly presence: PresenceTracker;
  private readonly typing: TypingTracker;
  private readonly publish: BackgroundPublish;

  constructor(options: LocalMembershipOptions) {
    this.publish = options.publish;
    this.rooms = new RoomRegistry(options);
    this.presence = new PresenceTracker({
      idleAfterMs: options.idleAfterMs,
      maxRememberedOffline: 100_000,
      onChange: (kind, presence) => this.emit(this.presenceChange(kind, presence)),
    });
    this.typing = new TypingTracker({
      expireAfterMs: options.typingExpireMs,
      onChange: (roomId, userId, isTyping) => this.emit({ kind: 'typing', roomId, userId, isTyping }),
    });
  }

  async start(): Promise<void> {
    this.presence.start();
  }

  async stop(): Promise<void> {
    this.presence.stop();
    this.typing.stop();
  }

  async connect(connectionId: string, userId: string): Promise<void> {
    this.presence.connect(userId, connectionId);
    this.emit({ kind: 'connected', userId, connectionId, connections: this.connectionsOf(userId) });
  }

  async disconnect(connectionId: string, userId: string, reason: string): Promise<void> {
    // Presence goes offline (to the rooms the user is still in) before the user leaves them.
    if (this.presence.disconnect(userId, connectionId)) {
      const rooms = this.rooms.releaseUser(userId);
      for (const roomId of rooms) this.typing.clear(roomId, userId);
      this.emit(...rooms.map((roomId): MembershipChange => ({ kind: 'left', roomId, userId, reason: 'disconnected' })));
    }
    this.emit({ kind: 'disconnected', userId, connectionId, connections: this.connectionsOf(userId), reason });
  }

  async hold(roomId: string, userId: string, kind: HoldKind): Promise<void> {
    if (this.rooms.hold(roomId, userId, kind)) this.emit({ kind: 'joined', roomId, userId });
  }

  async release(roomId: string, userId: string, kind: HoldKind, reason: LeaveReason): Promise<void> {
    if (!this.rooms.release(roomId, userId, kind)) return;
    this.typing.clear(roomId, userId);
    this.emit({ kind: 'left', roomId, userId, reason });
  }

  async setTyping(roomId: string, userId: string, isTyping: boolean): Promise<void> {
    if (!this.rooms.isMember(roomId, userId)) throw new RealtimeError('FORBIDDEN', `Not a member of room ${roomId}`);
    this.typing.set(roomId, userId, isTyping);
  }

  async updatePresence(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): Promise<void> {
    this.presence.update(userId, status, metadata);
  }

  touch(userId: string): void {
    this.presence.touch(userId);
  }

  sweepIdle(): void {
    this.presence.sweepIdle();
  }

  /** Nothing to fold: this process folded each change as it published it. */
  apply(): void {}

  isMember(roomId: string, userId: string): boolean {
    return this.rooms.isMember(roomId, userId);
  }
  members(roomId: string): Iterable<string> {
    return this.rooms.members.members(roomId);
  }
  roomsOf(userId: string): string[] {
    return this.rooms.roomsOf(userId);
  }
  details(roomId: string): RoomDetails | undefined {
    return this.rooms.details(roomId);
  }
  list(): RoomDetails[] {
    return this.rooms.members.list();
  }
  get roomCount(): number {
    return this.rooms.members.roomCount;
  }
  presenceOf(userId: string): UserPresence | undefined {
    return this.presence.get(userId);
  }
  online(): UserPresence[] {
    return this.presence.online();
  }
  all(): UserPresence[] {
    return this.presence.all();
  }
  typingIn(roomId: string): string[] {
    return this.typing.typingIn(roomId);
  }

  /**
   * Folds the changes into the room index, then publishes their events: every change is folded
   * before any is published, so the fan-out of each sees the state after all of them.
   */
  private emit(...changes: MembershipChange[]): void {
    const now = new Date();
    const requests = changes.map(membershipEvent);
    for (const request of requests) foldRoomMembership(this.rooms.members, request, now);
    for (const request of requests) this.publish(request);
  }

  private connectionsOf(userId: string): number {
    return this.presence.get(userId)?.connections ?? 0;
  }

  private presenceChange(kind: PresenceChangeKind, presence: UserPresence): MembershipChange {
    const { userId } = presence;
    const rooms = this.rooms.roomsOf(userId);
    if (kind === 'idle') return { kind: 'idle', userId, idleSince: presence.lastSeen, rooms };
    return {
      kind: 'presence',
      userId,
      status: presence.status,
      lastSeen: presence.lastSeen,
      // Checked against the catalog's metadata schema by the core before it reached the tracker.
      ...(presence.metadata !== undefined && { metadata: presence.metadata as PresenceMetadata }),
      rooms,
    };
  }
}
