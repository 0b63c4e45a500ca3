/**
 * The core of the service: connections, rooms, presence, typing, routing, history and
 * statistics. It knows nothing of WebSockets or tRPC: a connection is a `CoreConnection`, a
 * subscriber is a sink function, and events travel over an `EventBus`.
 */
import type { EventDataInput, EventDataMap, EventType, RealtimeEvent } from '../../shared/events.js';
import { presenceMetadataSchema } from '../../shared/events.js';
import type { UserPresence } from '../../shared/presence.js';
import type { BusEvent, EventBus, PublishRequest } from '../bus/bus.js';
import { channels } from '../bus/channels.js';
import type { CoreConnection } from './connection.js';
import { EventCatalog } from './event-catalog.js';
import { CoreSubscriptions, type SubscribeOptions, type Subscription } from './core-subscriptions.js';
import { SubscriptionIndex } from './fanout.js';
import { createLocalMembership } from './local-membership.js';
import type { ChosenStatus, MembershipState } from './membership-state.js';
import type { RoomDetails } from './rooms.js';
import { toValidationError } from './validation.js';
import { routeTo, validatedData, type PublishOptions, type PublishTarget } from './publishing.js';
import { ConnectionRegistry } from './connection-registry.js';
import { historyFilter, historyLimit, type HistoryQuery } from './history-query.js';
import { StatisticsCounter, type Statistics } from './statistics.js';
import { EphemeralCoalescer } from './ephemeral-coalescer.js';
import { noDurableStore, type DurableStore } from './durable-store.js';
import { createMembershipBatcher, type MembershipBatcher } from './membership-batcher.js';
import { pageOfMembers, type RoomMemberPage } from './member-page.js';

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
  /** Most deliveries a second of one ephemeral type per sender and target (0: no coalescing). @default 20 */
  ephemeralHz?: number;
  /** Where what must outlive a restart is kept (inboxes, audit trail, room history). @default none */
  store?: DurableStore;
  /** One `room.membership` per room and window (core/membership-batcher); 0: an event per change. @default 0 (the server: 200) */
  membershipBatchMs?: number;
  /** Rooms with more members get a summary of each window instead of the changes. @default 100 */
  roomPresenceDetailMax?: number;
  /** Such a room's summaries at most this often. @default 1000 */
  roomSummaryMs?: number;
}

export type { SubscribeOptions, Subscription } from './core-subscriptions.js';
export type { HistoryQuery } from './history-query.js';
export type { PublishOptions, PublishTarget } from './publishing.js';

export class RealtimeCore {
  readonly bus: EventBus;
  readonly catalog: EventCatalog;
  private readonly index: SubscriptionIndex;
  readonly membership: MembershipState;
  private readonly statistics = new StatisticsCounter();
  private readonly connections: ConnectionRegistry;
  private readonly subscriptions: CoreSubscriptions;
  private readonly reportError: (error: unknown, context: string) => void;
  private unsubscribeBus: (() => void) | undefined;
  private readonly observers = new Set<(event: RealtimeEvent) => void>();
  /** Ephemeral publishes, coalesced here (where they are published) before they reach the bus. */
  readonly ephemeral: EphemeralCoalescer;
  readonly store: DurableStore;
  /** Room membership changes, batched per room and window before they reach the room's members; none when off. */
  private readonly membershipBatcher: MembershipBatcher | undefined;

  constructor(options: RealtimeCoreOptions) {
    this.bus = options.bus;
    this.store = options.store ?? noDurableStore;
    this.catalog = options.catalog ?? new EventCatalog();
    this.connections = new ConnectionRegistry(options.maxConnectionsPerUser ?? 64);
    this.reportError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
    this.index = new SubscriptionIndex((error) => this.reportError(error, 'subscriber sink failed'));
    this.membership = options.membership ?? createLocalMembership(options, this.bus, this.reportError);
    this.ephemeral = new EphemeralCoalescer(options.ephemeralHz ?? 20, ({ event, channels: to }) => this.bus.sendEphemeral(event, to));
    this.membershipBatcher = createMembershipBatcher(options, { bus: this.bus, index: this.index, membership: this.membership, count: (type) => this.statistics.count(type) });
    this.subscriptions = new CoreSubscriptions({
      index: this.index,
      membership: this.membership,
      bus: this.bus,
      catalog: this.catalog,
      maxReplay: options.maxReplay ?? 5_000,
      membershipBatcher: this.membershipBatcher,
      reportError: this.reportError,
    });
  }

  async start(): Promise<void> {
    await this.bus.start();
    this.unsubscribeBus = this.bus.subscribe((published) => this.receive(published));
    await this.membership.start();
  }

  async stop(): Promise<void> {
    this.ephemeral.flushAll();
    this.membershipBatcher?.stop();
    await this.membership.stop();
    this.unsubscribeBus?.();
    this.unsubscribeBus = undefined;
  }

  // ── connections ────────────────────────────────────────────────────────────────────────────

  /** Registers a connection: its user is online while they hold at least one. */
  async connect(connection: CoreConnection): Promise<void> {
    if (!this.connections.add(connection)) return;
    try {
      await this.membership.connect(connection.id, connection.userId);
    } catch (error) {
      this.connections.remove(connection);
      throw error;
    }
  }

  /**
   * Closes the connection's subscriptions; the user's last connection takes them offline and out
   * of their rooms. Never rejects (failures are reported).
   */
  async disconnect(connection: Pick<CoreConnection, 'id' | 'userId'>, reason = 'closed'): Promise<void> {
    if (!this.connections.remove(connection)) return;
    // Presence goes offline (to the rooms the user is still in) before the subscriptions close:
    // closing an onRoom subscription releases its room, so its members never heard the user go
    // offline (reliability test, dead peers).
    const leaving = this.membership.disconnect(connection.id, connection.userId, reason);
    this.subscriptions.closeConnection(connection.id);
    // Never rejects: a disconnect runs from close handlers, where nobody could catch it.
    await leaving.catch((error: unknown) => this.reportError(error, `disconnecting ${connection.id}`));
  }

  /** Any call from the user counts as activity for idle detection. */
  touch(userId: string): void {
    this.membership.touch(userId);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────────────

  /** Opens a subscription; closing the connection closes it too. */
  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.subscriptions.open(options);
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

  /** A page of members in user id order, the room's size, and whether its batches list changes or sum them up. */
  roomMemberPage(roomId: string, page: { cursor?: string | undefined; limit: number }): RoomMemberPage {
    const { userIds, nextCursor, memberCount } = pageOfMembers(this.membership.members(roomId), page);
    return { items: userIds.map((userId) => this.presenceOf(userId)), nextCursor, memberCount, mode: this.membershipBatcher?.modeFor(memberCount) ?? 'detail' };
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
    const request: PublishRequest<T> = { type, data: validatedData(this.catalog, type, data), channels: channelList, ...options };
    return this.catalog.isEphemeral(type) ? this.publishEphemeral(request) : this.publishDurable(request);
  }

  /**
   * Stored by the bus, then queued for the durable store by this process alone (the one that
   * published it), so each event is written once however many processes see it.
   */
  private async publishDurable<T extends EventType>(request: PublishRequest<T>): Promise<RealtimeEvent<T>> {
    const event = await this.bus.publish(request);
    this.store.recordEvent(event as RealtimeEvent);
    return event;
  }

  /**
   * Stamped now and returned; sent through the coalescer, so it may be replaced by a later
   * publish of the same (target, sender, type) before it leaves. Never stored.
   */
  private publishEphemeral<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T> {
    const event = this.bus.stampEphemeral(request);
    this.ephemeral.offer(`${request.channels.join('\0')}\0${request.senderId ?? ''}\0${request.type}`, { event: event as RealtimeEvent, channels: request.channels });
    return event;
  }

  /**
   * A publish straight off the wire (admin.send, admin.broadcast, rooms.publish): `type` must be
   * in the catalog (BAD_REQUEST otherwise) and `data` is validated against its schema like any
   * publish. Which types a caller may publish is the procedure's decision.
   */
  async publishInput(target: PublishTarget, type: string, data: unknown, senderId: string): Promise<RealtimeEvent> {
    const known = this.catalog.checkType(type, ['type']);
    const request: PublishRequest = { type: known, data: validatedData(this.catalog, known, data), senderId, ...routeTo(target) };
    return this.catalog.isEphemeral(known) ? this.publishEphemeral(request) : this.publishDurable(request);
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
    return this.bus.recentHistory(historyLimit(query), historyFilter(query, this.catalog));
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
    // The state first, so that a room event reaches the members its own change made. Membership
    // changes are never ephemeral: a cursor (with a borrowed sequence) is none of its business.
    if (!published.ephemeral) this.membership.apply(published);
    for (const observer of this.observers) {
      try {
        observer(published.event);
      } catch (error) {
        this.reportError(error, `observing ${published.event.type}`);
      }
    }
    this.statistics.count(published.event.type);
    // A membership change reaches its rooms' members in their next batch, everyone else now.
    const now = this.membershipBatcher?.take(published) ?? published;
    this.index.fanOut(now, (roomId) => this.membership.members(roomId));
  }
}
