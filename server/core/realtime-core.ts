/**
 * The core of the service: connections, rooms, presence, typing, routing, history and
 * statistics. It knows nothing of WebSockets or tRPC: a connection is a `CoreConnection`, a
 * subscriber is a sink function, and events travel over an `EventBus`.
 */
import type { EventDataInput, EventDataMap, EventType, RealtimeEvent } from '../../shared/events.js';
import { presenceMetadataSchema } from '../../shared/events.js';
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import type { BusEvent, EventBus, PublishRequest } from '../bus/bus.js';
import { channels, firehoseChannel } from '../bus/channels.js';
import type { CoreConnection } from './connection.js';
import { RealtimeError } from './errors.js';
import { EventCatalog } from './event-catalog.js';
import { Subscriber, SubscriptionIndex, type EventSink } from './fanout.js';
import { LocalMembership } from './local-membership.js';
import { membershipDefaults, type ChosenStatus, type MembershipState } from './membership-state.js';
import type { RoomDetails } from './rooms.js';
import { toValidationError } from './validation.js';
import { StatisticsCounter, type Statistics } from './statistics.js';

export interface RealtimeCoreOptions {
  bus: EventBus;
  /** Quiet time after which a connected user is idle. @default 300000 */
  idleAfterMs?: number;
  /** A typing indicator stops by itself after this long without a refresh. @default 5000 */
  typingExpireMs?: number;
  /**
   * Connections (WebSockets and SSE streams) one user may hold in this process; one more is
   * refused with TOO_MANY_REQUESTS. @default 64
   */
  maxConnectionsPerUser?: number;
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
  /** Where rooms, presence and typing live. @default in this process's memory */
  membership?: MembershipState;
  /** The event types publishes are validated against. @default the built-in catalog */
  catalog?: EventCatalog;
}

export interface SubscribeOptions {
  connection: Pick<CoreConnection, 'id' | 'userId'>;
  channels: readonly string[];
  /** Also receive the events of every room this user is in, as memberships change. */
  followRoomsOfUser?: boolean;
  /** Which of the followed rooms this subscription may hear (room access). @default every one */
  followsRoom?: (roomId: string) => boolean;
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

/** Who a publish from a procedure's input goes to. */
export type PublishTarget = { userId: string } | { roomId: string } | 'everyone';

export class RealtimeCore {
  readonly bus: EventBus;
  readonly catalog: EventCatalog;
  private readonly index: SubscriptionIndex;
  readonly membership: MembershipState;
  private readonly statistics = new StatisticsCounter();
  private readonly connections = new Map<string, CoreConnection>();
  private readonly connectionCountByUser = new Map<string, number>();
  private readonly maxConnectionsPerUser: number;
  private readonly subscriptionsByConnection = new Map<string, Set<Subscription>>();
  private readonly maxReplay: number;
  private readonly reportError: (error: unknown, context: string) => void;
  private unsubscribeBus: (() => void) | undefined;
  private readonly observers = new Set<(event: RealtimeEvent) => void>();

  constructor(options: RealtimeCoreOptions) {
    this.bus = options.bus;
    this.catalog = options.catalog ?? new EventCatalog();
    this.maxReplay = options.maxReplay ?? 5_000;
    this.maxConnectionsPerUser = options.maxConnectionsPerUser ?? 64;
    this.reportError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
    this.index = new SubscriptionIndex((error) => this.reportError(error, 'subscriber sink failed'));
    this.membership =
      options.membership ??
      new LocalMembership({
        maxRooms: options.maxRooms ?? membershipDefaults.maxRooms,
        maxRoomsPerUser: options.maxRoomsPerUser ?? membershipDefaults.maxRoomsPerUser,
        maxMembersPerRoom: options.maxMembersPerRoom ?? membershipDefaults.maxMembersPerRoom,
        idleAfterMs: options.idleAfterMs ?? membershipDefaults.idleAfterMs,
        typingExpireMs: options.typingExpireMs ?? membershipDefaults.typingExpireMs,
        publish: (request) => {
          this.bus.publish(request).catch((error: unknown) => this.reportError(error, `publishing ${request.type}`));
        },
      });
  }

  async start(): Promise<void> {
    await this.bus.start();
    this.unsubscribeBus = this.bus.subscribe((published) => this.receive(published));
    await this.membership.start();
  }

  async stop(): Promise<void> {
    await this.membership.stop();
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
  }

  // ── connections ────────────────────────────────────────────────────────────────────────────

  /** Registers a connection: its user is online while they hold at least one. */
  async connect(connection: CoreConnection): Promise<void> {
    if (this.connections.has(connection.id)) return;
    const held = this.connectionCountByUser.get(connection.userId) ?? 0;
    if (held >= this.maxConnectionsPerUser) {
      throw new RealtimeError('TOO_MANY_REQUESTS', `At most ${this.maxConnectionsPerUser} connections per user`);
    }
    this.connections.set(connection.id, connection);
    this.connectionCountByUser.set(connection.userId, held + 1);
    try {
      await this.membership.connect(connection.id, connection.userId);
    } catch (error) {
      this.forgetConnection(connection);
      throw error;
    }
  }

  private forgetConnection(connection: Pick<CoreConnection, 'id' | 'userId'>): boolean {
    if (!this.connections.delete(connection.id)) return false;
    const remaining = (this.connectionCountByUser.get(connection.userId) ?? 1) - 1;
    if (remaining <= 0) this.connectionCountByUser.delete(connection.userId);
    else this.connectionCountByUser.set(connection.userId, remaining);
    return true;
  }

  /**
   * Closes the connection's subscriptions; the user's last connection takes them offline and out
   * of their rooms. Never rejects (failures are reported).
   */
  async disconnect(connection: Pick<CoreConnection, 'id' | 'userId'>, reason = 'closed'): Promise<void> {
    if (!this.forgetConnection(connection)) return;
    // Presence goes offline (to the rooms the user is still in) before the subscriptions close:
    // closing an onRoom subscription releases its room, so its members never heard the user go
    // offline (reliability test, dead peers).
    const leaving = this.membership.disconnect(connection.id, connection.userId, reason);
    for (const subscription of this.subscriptionsByConnection.get(connection.id) ?? []) subscription.close();
    this.subscriptionsByConnection.delete(connection.id);
    // Never rejects: a disconnect runs from close handlers, where nobody could catch it.
    await leaving.catch((error: unknown) => this.reportError(error, `disconnecting ${connection.id}`));
  }

  /** Any call from the user counts as activity for idle detection. */
  touch(userId: string): void {
    this.membership.touch(userId);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────────────

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const { connection } = options;
    const subscriber = new Subscriber({
      connectionId: connection.id,
      channels: options.channels,
      ...(options.followRoomsOfUser && { followRoomsOf: connection.userId }),
      ...(options.followsRoom && { followsRoom: options.followsRoom }),
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
        if (heldRoom !== undefined) {
          this.membership
            .release(heldRoom, connection.userId, 'subscription', 'unsubscribed')
            .catch((error: unknown) => this.reportError(error, `releasing room ${heldRoom}`));
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
        await this.membership.hold(options.holdRoom, connection.userId, 'subscription');
        heldRoom = options.holdRoom;
      } catch (error) {
        subscription.close();
        throw error;
      }
    }

    if (options.lastEventId !== undefined) {
      try {
        const replayChannels = options.followRoomsOfUser
          ? [...options.channels, ...this.membership.roomsOf(connection.userId).filter((roomId) => subscriber.follows(roomId)).map(channels.room)]
          : options.channels;
        const read = await this.bus.readHistory(replayChannels, options.lastEventId, this.maxReplay);
        if (read.gap) subscriber.deliverDirect(this.gapEvent(options.lastEventId, read.gap));
        const replayed = read.events.filter((published) => !this.catalog.isEphemeral(published.event.type));
        if (!subscriber.finishReplay(replayed)) {
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

  async joinRoom(userId: string, roomId: string): Promise<RoomDetails> {
    await this.membership.hold(roomId, userId, 'explicit');
    return this.membership.details(roomId) ?? { roomId, createdAt: new Date(), memberCount: 1, members: [userId] };
  }

  /** Returns false when the user was not a member. */
  async leaveRoom(userId: string, roomId: string): Promise<boolean> {
    if (!this.membership.isMember(roomId, userId)) return false;
    await this.membership.release(roomId, userId, 'explicit', 'left');
    return true;
  }

  isRoomMember(roomId: string, userId: string): boolean {
    return this.membership.isMember(roomId, userId);
  }

  roomDetails(roomId: string): RoomDetails | undefined {
    return this.membership.details(roomId);
  }

  roomMembers(roomId: string): UserPresence[] {
    return [...this.membership.members(roomId)].map((userId) => this.presenceOf(userId));
  }

  roomMemberIds(roomId: string): Iterable<string> {
    return this.membership.members(roomId);
  }

  listRooms(): RoomDetails[] {
    return this.membership.list();
  }

  roomsOf(userId: string): string[] {
    return this.membership.roomsOf(userId);
  }

  /** Members only (FORBIDDEN otherwise); an indicator stops by itself after the typing timeout. */
  setTyping(userId: string, roomId: string, isTyping: boolean): Promise<void> {
    return this.membership.setTyping(roomId, userId, isTyping);
  }

  typingIn(roomId: string): string[] {
    return this.membership.typingIn(roomId);
  }

  // ── presence ───────────────────────────────────────────────────────────────────────────────

  /** PRECONDITION_FAILED while the user has no connection. */
  async updatePresence(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): Promise<UserPresence> {
    // Checked here too, for code that embeds the core: metadata travels to every room of the user.
    if (metadata !== undefined) {
      const checked = presenceMetadataSchema.safeParse(metadata);
      if (!checked.success) throw toValidationError('user.presence metadata', checked.error);
    }
    await this.membership.updatePresence(userId, status, metadata);
    return this.presenceOf(userId);
  }

  presenceOf(userId: string): UserPresence {
    return this.membership.presenceOf(userId) ?? { userId, status: 'offline', lastSeen: new Date(0), connections: 0, idle: false };
  }

  onlineUsers(): UserPresence[] {
    return this.membership.online();
  }

  allPresence(): UserPresence[] {
    return this.membership.all();
  }

  /** Runs the idle check now (a timer runs it periodically). */
  sweepIdle(): void {
    this.membership.sweepIdle();
  }

  // ── publishing ─────────────────────────────────────────────────────────────────────────────

  /** Validates `data` against the catalog (built-in and app types) and publishes to the given channels. */
  async publish<T extends EventType>(
    type: T,
    data: EventDataInput<T> | EventDataMap[T],
    channelList: readonly string[],
    options: PublishOptions = {},
  ): Promise<RealtimeEvent<T>> {
    let parsed: EventDataMap[T];
    try {
      parsed = this.catalog.parse(type, data);
    } catch (error) {
      throw toValidationError(type, error);
    }
    const request: PublishRequest<T> = { type, data: parsed, channels: channelList, ...options };
    return this.bus.publish(request);
  }

  /**
   * A publish straight off the wire (admin.send, admin.broadcast, rooms.publish): `type` must be
   * in the catalog (BAD_REQUEST otherwise) and `data` is validated against its schema like any
   * publish. Which types a caller may publish is the procedure's decision.
   */
  async publishInput(target: PublishTarget, type: string, data: unknown, senderId: string): Promise<RealtimeEvent> {
    const known = this.catalog.checkType(type, ['type']);
    let parsed: EventDataMap[EventType];
    try {
      parsed = this.catalog.parse(known, data);
    } catch (error) {
      throw toValidationError(type, error);
    }
    const routed =
      target === 'everyone'
        ? { channels: [channels.everyone] }
        : 'userId' in target
          ? { channels: [channels.user(target.userId)], userId: target.userId }
          : { channels: [channels.room(target.roomId)], roomId: target.roomId };
    return this.bus.publish({ type: known, data: parsed, senderId, ...routed });
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

  /** Newest first; ephemeral app events are never listed. */
  history(query: HistoryQuery = {}): Promise<RealtimeEvent[]> {
    const { type, roomId, userId } = query;
    return this.bus.recentHistory(Math.min(query.limit ?? 100, 1_000), (event) =>
      !this.catalog.isEphemeral(event.type) &&
      (type === undefined || event.type === type) &&
      (roomId === undefined || event.roomId === roomId) &&
      (userId === undefined || event.userId === userId || event.senderId === userId),
    );
  }

  /** Connections, users and rooms for the whole service (every process, with Redis); subscriptions of this process. */
  stats(): Statistics {
    const online = this.membership.online();
    return this.statistics.snapshot({
      activeConnections: online.reduce((total, presence) => total + presence.connections, 0),
      activeUsers: online.length,
      activeRooms: this.membership.roomCount,
      onlineUsers: online.filter((presence) => presence.status === 'online').length,
      subscriptions: this.index.size,
    });
  }

  /** Connections open on this process. */
  get localConnectionCount(): number {
    return this.connections.size;
  }

  /**
   * Called with every event any process publishes, before it is fanned out: workflows fold it
   * into their state, so every process knows runs and actions started elsewhere. Returns its own
   * unsubscribe.
   */
  observe(observer: (event: RealtimeEvent) => void): () => void {
    this.observers.add(observer);
    return () => {
      this.observers.delete(observer);
    };
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
    // The state first, so that a room event reaches the members its own change made.
    this.membership.apply(published);
    for (const observer of this.observers) {
      try {
        observer(published.event);
      } catch (error) {
        this.reportError(error, `observing ${published.event.type}`);
      }
    }
    this.statistics.count(published.event.type);
    this.index.fanOut(published, (roomId) => this.membership.members(roomId));
  }

  private gapEvent(lastEventId: string, reason: 'history_evicted' | 'service_restarted' | 'unknown_event_id'): RealtimeEvent<'stream.gap'> {
    return { id: lastEventId, type: 'stream.gap', data: { lastEventId, reason }, timestamp: new Date() };
  }
}

export { firehoseChannel };
