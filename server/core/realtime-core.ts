/**
 * The core of the service: connections, rooms, presence, typing, routing, history and
 * statistics. It knows nothing of WebSockets or tRPC: a connection is a `CoreConnection`, a
 * subscriber is a sink function, and events travel over an `EventBus`.
 */
import type { EventDataInput, EventDataMap, EventType, RealtimeEvent } from '../../shared/events.js';
import { parseEventData } from '../../shared/events.js';
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import type { BusEvent, EventBus, PublishRequest } from '../bus/bus.js';
import { channels, firehoseChannel } from './channels.js';
import type { CoreConnection } from './connection.js';
import { RealtimeError } from './errors.js';
import { Subscriber, SubscriptionIndex, type EventSink } from './fanout.js';
import { PresenceTracker, type PresenceChangeKind } from './presence.js';
import { RoomRegistry, type RoomDetails } from './rooms.js';
import { toValidationError } from './validation.js';
import { StatisticsCounter, type Statistics } from './statistics.js';
import { TypingTracker } from './typing.js';

export interface RealtimeCoreOptions {
  bus: EventBus;
  /** Quiet time after which a connected user is idle. @default 300000 */
  idleAfterMs?: number;
  /** A typing indicator stops by itself after this long without a refresh. @default 5000 */
  typingExpireMs?: number;
  /** @default 10000 */
  maxRooms?: number;
  /** @default 100 */
  maxRoomsPerUser?: number;
  /** @default 10000 */
  maxMembersPerRoom?: number;
  /** Most events replayed to one resuming subscription; past it the client is told of a gap. @default 5000 */
  maxReplay?: number;
  /** Where failures inside callbacks go; they are never thrown into a caller. @default console.error */
  onError?: (error: unknown, context: string) => void;
}

export interface SubscribeOptions {
  connection: Pick<CoreConnection, 'id' | 'userId'>;
  channels: readonly string[];
  /** Also receive the events of every room this user is in, as memberships change. */
  followRoomsOfUser?: boolean;
  /** Hold membership of this room while subscribed. */
  holdRoom?: string;
  types?: ReadonlySet<EventType>;
  accept?: (event: RealtimeEvent) => boolean;
  /** Resume: replay what this subscription would have received after this id. */
  lastEventId?: string;
  sink: EventSink;
}

export interface Subscription {
  /** Idempotent. */
  close(): void;
}

export interface HistoryQuery {
  limit?: number;
  type?: EventType;
  roomId?: string;
  userId?: string;
}

export interface PublishOptions {
  roomId?: string;
  userId?: string;
  senderId?: string;
}

export class RealtimeCore {
  readonly bus: EventBus;
  private readonly index: SubscriptionIndex;
  private readonly rooms: RoomRegistry;
  private readonly presence: PresenceTracker;
  private readonly typing: TypingTracker;
  private readonly statistics = new StatisticsCounter();
  private readonly connections = new Map<string, CoreConnection>();
  private readonly subscriptionsByConnection = new Map<string, Set<Subscription>>();
  private readonly maxReplay: number;
  private readonly reportError: (error: unknown, context: string) => void;
  private unsubscribeBus: (() => void) | undefined;

  constructor(options: RealtimeCoreOptions) {
    this.bus = options.bus;
    this.maxReplay = options.maxReplay ?? 5_000;
    this.reportError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
    this.index = new SubscriptionIndex((error) => this.reportError(error, 'subscriber sink failed'));
    this.rooms = new RoomRegistry({
      maxRooms: options.maxRooms ?? 10_000,
      maxRoomsPerUser: options.maxRoomsPerUser ?? 100,
      maxMembersPerRoom: options.maxMembersPerRoom ?? 10_000,
    });
    this.presence = new PresenceTracker({
      idleAfterMs: options.idleAfterMs ?? 300_000,
      maxRememberedOffline: 100_000,
      onChange: (kind, presence) => this.publishPresence(kind, presence),
    });
    this.typing = new TypingTracker({
      expireAfterMs: options.typingExpireMs ?? 5_000,
      onChange: (roomId, userId, isTyping) =>
        this.publishInBackground('user.typing', { userId, roomId, isTyping }, [channels.room(roomId)], {
          roomId,
          senderId: userId,
        }),
    });
  }

  async start(): Promise<void> {
    await this.bus.start();
    this.unsubscribeBus = this.bus.subscribe((published) => this.receive(published));
    this.presence.start();
  }

  async stop(): Promise<void> {
    this.presence.stop();
    this.typing.stop();
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
  }

  // ── connections ────────────────────────────────────────────────────────────────────────────

  connect(connection: CoreConnection): void {
    if (this.connections.has(connection.id)) return;
    this.connections.set(connection.id, connection);
    this.presence.connect(connection.userId, connection.id);
    this.publishInBackground(
      'connected',
      { userId: connection.userId, connectionId: connection.id, connections: this.connectionCountOf(connection.userId) },
      [],
      { userId: connection.userId },
    );
  }

  /** Closes the connection's subscriptions; the user's last connection takes them offline and out of their rooms. */
  disconnect(connection: Pick<CoreConnection, 'id' | 'userId'>, reason = 'closed'): void {
    if (!this.connections.delete(connection.id)) return;
    const { userId } = connection;
    // Presence goes offline (to the rooms the user is still in) before the user leaves them, and
    // before the subscriptions close: closing an onRoom subscription releases its room, so its
    // members never heard the user go offline (reliability test, dead peers).
    const wentOffline = this.presence.disconnect(userId, connection.id);
    if (wentOffline) {
      for (const roomId of this.rooms.removeUser(userId)) {
        this.typing.clear(roomId, userId);
        this.publishRoomLeft(roomId, userId, 'disconnected');
      }
    }
    for (const subscription of this.subscriptionsByConnection.get(connection.id) ?? []) subscription.close();
    this.subscriptionsByConnection.delete(connection.id);
    this.publishInBackground(
      'disconnected',
      { userId, connectionId: connection.id, connections: this.connectionCountOf(userId), reason },
      [],
      { userId },
    );
  }

  /** Any call from the user counts as activity for idle detection. */
  touch(userId: string): void {
    this.presence.touch(userId);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────────────

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const { connection } = options;
    const subscriber = new Subscriber({
      connectionId: connection.id,
      channels: options.channels,
      ...(options.followRoomsOfUser && { followRoomsOf: connection.userId }),
      ...(options.types && { types: options.types }),
      ...(options.accept && { accept: options.accept }),
      sink: options.sink,
    });
    let closed = false;
    let heldRoom: string | undefined;
    const subscription: Subscription = {
      close: () => {
        if (closed) return;
        closed = true;
        subscriber.close();
        this.index.remove(subscriber);
        const own = this.subscriptionsByConnection.get(connection.id);
        own?.delete(subscription);
        if (own?.size === 0) this.subscriptionsByConnection.delete(connection.id);
        if (heldRoom !== undefined && this.rooms.release(heldRoom, connection.userId, 'subscription')) {
          this.typing.clear(heldRoom, connection.userId);
          this.publishRoomLeft(heldRoom, connection.userId, 'unsubscribed');
        }
      },
    };
    // A resuming subscriber holds live events from the moment it is indexed: otherwise its own
    // `room.joined` (published by holdRoom below) was delivered first and moved its sequence
    // past every replayed event, which were then skipped as already seen (reliability test).
    if (options.lastEventId !== undefined) subscriber.beginReplay();
    // Indexed before the room is held, so the subscriber sees its own `room.joined`.
    this.index.add(subscriber);
    let own = this.subscriptionsByConnection.get(connection.id);
    if (!own) this.subscriptionsByConnection.set(connection.id, (own = new Set()));
    own.add(subscription);
    if (options.holdRoom !== undefined) {
      try {
        this.holdRoom(options.holdRoom, connection.userId, 'subscription');
        heldRoom = options.holdRoom;
      } catch (error) {
        subscription.close();
        throw error;
      }
    }

    if (options.lastEventId !== undefined) {
      try {
        const replayChannels = options.followRoomsOfUser
          ? [...options.channels, ...this.rooms.roomsOf(connection.userId).map(channels.room)]
          : options.channels;
        const read = await this.bus.readHistory(replayChannels, options.lastEventId, this.maxReplay);
        if (read.gap) subscriber.deliverDirect(this.gapEvent(options.lastEventId, read.gap));
        if (!subscriber.finishReplay(read.events)) {
          subscriber.deliverDirect(this.gapEvent(options.lastEventId, 'history_evicted'));
        }
      } catch (error) {
        subscription.close();
        throw error;
      }
    }
    return subscription;
  }

  // ── rooms ──────────────────────────────────────────────────────────────────────────────────

  joinRoom(userId: string, roomId: string): RoomDetails {
    this.holdRoom(roomId, userId, 'explicit');
    return this.rooms.details(roomId)!;
  }

  leaveRoom(userId: string, roomId: string): boolean {
    if (!this.rooms.isMember(roomId, userId)) return false;
    if (this.rooms.release(roomId, userId, 'explicit')) {
      this.typing.clear(roomId, userId);
      this.publishRoomLeft(roomId, userId, 'left');
    }
    return true;
  }

  isRoomMember(roomId: string, userId: string): boolean {
    return this.rooms.isMember(roomId, userId);
  }

  roomDetails(roomId: string): RoomDetails | undefined {
    return this.rooms.details(roomId);
  }

  roomMembers(roomId: string): UserPresence[] {
    return [...this.rooms.members(roomId)].map((userId) => this.presenceOf(userId));
  }

  listRooms(): RoomDetails[] {
    return this.rooms.list();
  }

  roomsOf(userId: string): string[] {
    return this.rooms.roomsOf(userId);
  }

  setTyping(userId: string, roomId: string, isTyping: boolean): void {
    if (!this.rooms.isMember(roomId, userId)) {
      throw new RealtimeError('FORBIDDEN', `Not a member of room ${roomId}`);
    }
    this.typing.set(roomId, userId, isTyping);
  }

  typingIn(roomId: string): string[] {
    return this.typing.typingIn(roomId);
  }

  // ── presence ───────────────────────────────────────────────────────────────────────────────

  updatePresence(userId: string, status: Exclude<PresenceStatus, 'offline'>, metadata?: Record<string, unknown>): UserPresence {
    return this.presence.update(userId, status, metadata);
  }

  presenceOf(userId: string): UserPresence {
    return this.presence.get(userId) ?? { userId, status: 'offline', lastSeen: new Date(0), connections: 0, idle: false };
  }

  onlineUsers(): UserPresence[] {
    return this.presence.online();
  }

  allPresence(): UserPresence[] {
    return this.presence.all();
  }

  /** Runs the idle check now (the sweep timer runs it periodically). */
  sweepIdle(): void {
    this.presence.sweepIdle();
  }

  // ── publishing ─────────────────────────────────────────────────────────────────────────────

  /** Validates `data` against the catalog and publishes to the given channels. */
  async publish<T extends EventType>(
    type: T,
    data: EventDataInput<T> | EventDataMap[T],
    channelList: readonly string[],
    options: PublishOptions = {},
  ): Promise<RealtimeEvent<T>> {
    let parsed: EventDataMap[T];
    try {
      parsed = parseEventData(type, data);
    } catch (error) {
      throw toValidationError(type, error);
    }
    const request: PublishRequest<T> = { type, data: parsed, channels: channelList, ...options };
    return this.bus.publish(request);
  }

  sendToUser<T extends EventType>(userId: string, type: T, data: EventDataInput<T>, senderId?: string) {
    return this.publish(type, data, [channels.user(userId)], { userId, ...(senderId !== undefined && { senderId }) });
  }

  broadcastToRoom<T extends EventType>(roomId: string, type: T, data: EventDataInput<T>, senderId?: string) {
    return this.publish(type, data, [channels.room(roomId)], { roomId, ...(senderId !== undefined && { senderId }) });
  }

  broadcastToAll<T extends EventType>(type: T, data: EventDataInput<T>, senderId?: string) {
    return this.publish(type, data, [channels.everyone], senderId !== undefined ? { senderId } : {});
  }

  // ── history and statistics ─────────────────────────────────────────────────────────────────

  history(query: HistoryQuery = {}): Promise<RealtimeEvent[]> {
    const { type, roomId, userId } = query;
    return this.bus.recentHistory(Math.min(query.limit ?? 100, 1_000), (event) =>
      (type === undefined || event.type === type) &&
      (roomId === undefined || event.roomId === roomId) &&
      (userId === undefined || event.userId === userId || event.senderId === userId),
    );
  }

  stats(): Statistics {
    return this.statistics.snapshot({
      activeConnections: this.connections.size,
      activeUsers: this.presence.connectedUserCount,
      activeRooms: this.rooms.roomCount,
      onlineUsers: this.presence.online().filter((presence) => presence.status === 'online').length,
      subscriptions: this.index.size,
    });
  }

  /** Called once per event this process sees (metrics). Returns its own unsubscribe. */
  onEventCounted(listener: (type: EventType) => void): () => void {
    return this.statistics.onCount(listener);
  }

  /** For leak checks: indexed channels return to zero when every subscription is closed. */
  get indexedChannelCount(): number {
    return this.index.indexedChannels;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  private receive(published: BusEvent): void {
    this.statistics.count(published.event.type);
    this.index.fanOut(published, (roomId) => this.rooms.members(roomId));
  }

  private holdRoom(roomId: string, userId: string, kind: 'explicit' | 'subscription'): void {
    if (this.rooms.hold(roomId, userId, kind)) {
      this.publishInBackground('room.joined', { roomId, userId }, [channels.room(roomId)], { roomId, senderId: userId });
    }
  }

  private publishRoomLeft(roomId: string, userId: string, reason: 'left' | 'disconnected' | 'unsubscribed'): void {
    this.publishInBackground('room.left', { roomId, userId, reason }, [channels.room(roomId)], { roomId, senderId: userId });
  }

  private publishPresence(kind: PresenceChangeKind, presence: UserPresence): void {
    const channelList = [...this.rooms.roomsOf(presence.userId).map(channels.room), channels.presence];
    const options = { userId: presence.userId, senderId: presence.userId };
    if (kind === 'idle') {
      this.publishInBackground('user.idle', { userId: presence.userId, idleSince: presence.lastSeen }, channelList, options);
      return;
    }
    const data = {
      userId: presence.userId,
      status: presence.status,
      lastSeen: presence.lastSeen,
      ...(presence.metadata !== undefined && { metadata: presence.metadata as Record<string, never> }),
    };
    this.publishInBackground('user.presence', data, channelList, options);
  }

  /** For events the service emits by itself: failures are reported, never thrown into the caller. */
  private publishInBackground<T extends EventType>(
    type: T,
    data: EventDataInput<T>,
    channelList: readonly string[],
    options: PublishOptions,
  ): void {
    this.publish(type, data, channelList, options).catch((error: unknown) => this.reportError(error, `publishing ${type}`));
  }

  private connectionCountOf(userId: string): number {
    return this.presence.get(userId)?.connections ?? 0;
  }

  private gapEvent(lastEventId: string, reason: 'history_evicted' | 'service_restarted' | 'unknown_event_id'): RealtimeEvent<'stream.gap'> {
    return { id: lastEventId, type: 'stream.gap', data: { lastEventId, reason }, timestamp: new Date() };
  }
}

export { firehoseChannel };
