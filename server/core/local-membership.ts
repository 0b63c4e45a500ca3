/**
 * Rooms, presence and typing of one process, in memory: the embedded default. Every change
 * happens synchronously and publishes the event that describes it.
 */
import type { EventDataMap, EventType } from '../../shared/events.js';
import type { UserPresence } from '../../shared/presence.js';
import { channels } from '../bus/channels.js';
import { RealtimeError } from './errors.js';
import type { ChosenStatus, HoldKind, LeaveReason, MembershipState } from './membership-state.js';
import { PresenceTracker, type PresenceChangeKind } from './presence.js';
import { RoomRegistry, type RoomDetails, type RoomLimits } from './rooms.js';
import { TypingTracker } from './typing.js';

export type BackgroundPublish = <T extends EventType>(
  type: T,
  data: EventDataMap[T],
  channelList: readonly string[],
  options: { roomId?: string; userId?: string; senderId?: string },
) => void;

export interface LocalMembershipOptions extends RoomLimits {
  idleAfterMs: number;
  typingExpireMs: number;
  /** Publishes an event the service emits by itself; failures are reported, never thrown. */
  publish: BackgroundPublish;
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
      onChange: (kind, presence) => this.publishPresence(kind, presence),
    });
    this.typing = new TypingTracker({
      expireAfterMs: options.typingExpireMs,
      onChange: (roomId, userId, isTyping) =>
        this.publish('user.typing', { userId, roomId, isTyping }, [channels.room(roomId)], { roomId, senderId: userId }),
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
    this.publish('connected', { userId, connectionId, connections: this.connectionsOf(userId) }, [], { userId });
  }

  async disconnect(connectionId: string, userId: string, reason: string): Promise<void> {
    // Presence goes offline (to the rooms the user is still in) before the user leaves them.
    if (this.presence.disconnect(userId, connectionId)) {
      for (const roomId of this.rooms.removeUser(userId)) this.left(roomId, userId, 'disconnected');
    }
    this.publish('disconnected', { userId, connectionId, connections: this.connectionsOf(userId), reason }, [], { userId });
  }

  async hold(roomId: string, userId: string, kind: HoldKind): Promise<void> {
    if (this.rooms.hold(roomId, userId, kind)) {
      this.publish('room.joined', { roomId, userId }, [channels.room(roomId)], { roomId, senderId: userId });
    }
  }

  async release(roomId: string, userId: string, kind: HoldKind, reason: LeaveReason): Promise<void> {
    if (this.rooms.release(roomId, userId, kind)) this.left(roomId, userId, reason);
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

  /** Nothing to fold: this process changed its state before it published. */
  apply(): void {}

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

  private left(roomId: string, userId: string, reason: LeaveReason): void {
    this.typing.clear(roomId, userId);
    this.publish('room.left', { roomId, userId, reason }, [channels.room(roomId)], { roomId, senderId: userId });
  }

  private connectionsOf(userId: string): number {
    return this.presence.get(userId)?.connections ?? 0;
  }

  private publishPresence(kind: PresenceChangeKind, presence: UserPresence): void {
    const channelList = [...this.rooms.roomsOf(presence.userId).map(channels.room), channels.presence];
    const options = { userId: presence.userId, senderId: presence.userId };
    if (kind === 'idle') {
      this.publish('user.idle', { userId: presence.userId, idleSince: presence.lastSeen }, channelList, options);
      return;
    }
    const data = {
      userId: presence.userId,
      status: presence.status,
      lastSeen: presence.lastSeen,
      ...(presence.metadata !== undefined && { metadata: presence.metadata as Record<string, never> }),
    };
    this.publish('user.presence', data, channelList, options);
  }
}
