/**
 * Rooms, presence and typing for many processes: state in Redis, changed only by atomic scripts
 * (user-scripts, room-scripts, partition-scripts: each in ONE partition, and each publishing the
 * events that describe its change), read from a local replica folded from those events.
 *
 * On a Redis Cluster the state is split by its natural key, so no shard takes every membership
 * write: a user's connections and presence in the user's partition, a room's members, holds and
 * typing in the room's (membership-buses). What spans both is done in steps (membership-parts):
 * the bounds across rooms are checked against the replica, the user's rooms come from the
 * replica, and a user going offline leaves their rooms in other partitions after the fact, with
 * a sweep (offline-sweep) as the safety net. With one Redis it is all one partition.
 *
 * Each process heartbeats in every partition; any process that sees another's heartbeat older
 * than `deadAfterMs` reaps what it held there (its connections and room holds go, with the usual
 * offline and leave events), exactly once per partition whichever process gets there first.
 * Typing expiry is swept the same way.
 */
import { randomUUID } from 'node:crypto';
import { parseEventId } from '../../shared/event-id.js';
import type { UserPresence } from '../../shared/presence.js';
import type { BusEvent } from '../bus/bus.js';
import type { RedisBus } from '../bus/redis-bus.js';
import { RealtimeError } from '../errors.js';
import type { ChosenStatus, HoldKind, LeaveReason, MembershipState } from '../core/membership-state.js';
import type { RoomDetails } from '../core/rooms.js';
import { ClusterReplica, type ClusterSnapshot, type PartitionOwnership } from './cluster-replica.js';
import { oneBus, runChange, runScript, runUserChange, type MembershipBuses, type ScriptName } from './membership-buses.js';
import { leaveOtherPartitions, leaveRooms, publishOtherParts, reapPartition, roomArguments, userRooms, type UserRooms } from './membership-parts.js';
import { LocalHoldings } from './local-holdings.js';
import { OfflineSweep } from './offline-sweep.js';

export interface RedisMembershipOptions {
  /** One Redis's bus, or where each user's and room's state lives (a Redis Cluster's partitions). */
  bus: RedisBus | MembershipBuses;
  /** @default a random id per process */
  processId?: string;
  /** A process silent this long is presumed dead and reaped. @default 15000 */
  deadAfterMs?: number;
  /** @default deadAfterMs / 3 */
  heartbeatMs?: number;
  /** A member seen offline this long is checked by the offline sweep. @default 5000 */
  offlineGraceMs?: number;
  idleAfterMs: number;
  typingExpireMs: number;
  maxRooms: number;
  maxRoomsPerUser: number;
  maxMembersPerRoom: number;
  /** Numbers for the per-process breakdown of statistics, written with each heartbeat. */
  processStats?: () => Record<string, number>;
  onError: (error: unknown, context: string) => void;
}

/** Touches are written at most this often per user, so a chatty client costs no Redis round trip per call. */
const touchEveryMs = 1_000;

export class RedisMembership implements MembershipState {
  readonly processId: string;
  private readonly replica = new ClusterReplica();
  private readonly buses: MembershipBuses;
  private readonly deadAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly local = new LocalHoldings();
  private readonly lastTouch = new Map<string, number>();
  private readonly offlineSweep: OfflineSweep;
  private timers: NodeJS.Timeout[] = [];
  /** Partitions that lost their data, waiting to be restored (see reassert). */
  private readonly lostPartitions = new Set<RedisBus>();
  private started = false;

  constructor(private readonly options: RedisMembershipOptions) {
    this.processId = options.processId ?? randomUUID();
    this.buses = 'forUser' in options.bus ? options.bus : oneBus(options.bus);
    this.deadAfterMs = options.deadAfterMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.deadAfterMs / 3));
    const graceMs = options.offlineGraceMs ?? 5_000;
    this.offlineSweep = new OfflineSweep({
      graceMs,
      perRound: 50,
      recheckAfterMs: graceMs * 12,
      usersInRooms: () => this.replica.usersInRooms(),
      isOnline: (userId) => (this.replica.presenceOf(userId)?.connections ?? 0) > 0,
      session: (userId) => this.readSession(userId),
      leave: (userId, gen) => leaveRooms(userId, gen, this.roomsOfUser(userId)),
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const bus of this.buses.all()) {
      bus.onResubscribed(({ dataLost }) => {
        if (!dataLost) return;
        this.lostPartitions.add(bus);
        void this.reassertWithRetry();
      });
    }
    await this.heartbeat();
    await this.loadSnapshot();
    const every = (ms: number, task: () => Promise<unknown>, context: string) => {
      const timer = setInterval(() => task().catch((error: unknown) => this.options.onError(error, context)), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.heartbeatMs, () => this.heartbeat(), 'cluster heartbeat');
    every(Math.max(50, Math.min(this.options.typingExpireMs / 4, 1_000)), () => this.sweepTyping(), 'typing sweep');
    every(Math.max(50, Math.min(this.options.idleAfterMs / 2, 5_000)), async () => this.sweepIdle(), 'idle sweep');
    every(Math.max(100, Math.min((this.options.offlineGraceMs ?? 5_000) / 2, 5_000)), () => this.offlineSweep.run(), 'offline sweep');
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private async reassertWithRetry(): Promise<void> {
    // Several partitions of one node lose their data together: one pass restores them all.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let attempt = 0; attempt < 10 && this.started && this.lostPartitions.size > 0; attempt++) {
      try {
        await this.reassert();
        return;
      } catch (error) {
        this.options.onError(error, 'restoring cluster state after redis lost its data');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
      }
    }
  }

  /**
   * After a partition lost its data (Redis restarted without persistence, flushed): puts back
   * what this process holds there (its connections of users of that partition, its
   * subscriptions' holds of rooms of it, and explicit joins of users still connected here), then
   * re-reads the whole state. Only lost partitions are written again: connecting counts, so a
   * partition that kept its data must not see this process's connections twice. Every process
   * does the same, so the state is rebuilt from the processes that are alive, with the usual events.
   */
  async reassert(): Promise<void> {
    const lost = new Set(this.lostPartitions);
    this.lostPartitions.clear();
    try {
      for (const [connectionId, userId] of this.local.connections) {
        if (!lost.has(this.buses.forUser(userId))) continue;
        this.local.setSession(userId, (await this.userChange('clusterConnect', userId, this.processId, userId, connectionId)).gen);
      }
      for (const [roomId, userId, kind] of this.local.holdsToRestore()) {
        if (lost.has(this.buses.forRoom(roomId))) await this.holdInRedis(roomId, userId, kind);
      }
      await this.heartbeat();
      await this.loadSnapshot();
    } catch (error) {
      for (const bus of lost) this.lostPartitions.add(bus);
      throw error;
    }
  }

  /** Replaces the replica with every partition's snapshot, each for the rooms and users it holds. */
  private loadSnapshot(): Promise<void> {
    return this.replica.reload(() =>
      Promise.all(
        this.buses.all().map(async (bus): Promise<[ClusterSnapshot, PartitionOwnership]> => {
          const snapshot = JSON.parse((await runScript(bus, 'clusterSnapshot')) as string) as ClusterSnapshot;
          return [snapshot, { room: (roomId) => this.buses.forRoom(roomId) === bus, user: (userId) => this.buses.forUser(userId) === bus }];
        }),
      ),
    );
  }

  async connect(connectionId: string, userId: string): Promise<void> {
    this.local.connected(connectionId, userId);
    const { gen } = await this.userChange('clusterConnect', userId, this.processId, userId, connectionId);
    this.local.setSession(userId, gen);
  }

  async disconnect(connectionId: string, userId: string, reason: string): Promise<void> {
    this.local.disconnected(connectionId, userId);
    const { gen, presenceMessage, rooms } = await this.userChange('clusterDisconnect', userId, this.processId, userId, connectionId, reason);
    if (presenceMessage !== '') await leaveOtherPartitions(userId, gen, rooms);
  }

  async hold(roomId: string, userId: string, kind: HoldKind): Promise<void> {
    if (!this.replica.isMember(roomId, userId)) this.checkBounds(roomId, userId);
    await this.holdInRedis(roomId, userId, kind);
    this.local.held(roomId, userId, kind);
  }

  /**
   * The bounds across rooms, against the replica (a room's own is exact, in its script), which
   * trails Redis by milliseconds: joins made at once on several processes may each pass, so a user
   * may exceed maxRoomsPerUser, and the service maxRooms, by the number of such joins in flight.
   */
  private checkBounds(roomId: string, userId: string): void {
    const { maxRoomsPerUser, maxRooms } = this.options;
    if (this.replica.roomsOf(userId).length >= maxRoomsPerUser) throw new RealtimeError('TOO_MANY_REQUESTS', `A user may be in at most ${maxRoomsPerUser} rooms`);
    if (!this.replica.details(roomId) && this.replica.roomCount >= maxRooms) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', `The service holds its maximum of ${maxRooms} rooms`);
    }
  }

  private async holdInRedis(roomId: string, userId: string, kind: HoldKind): Promise<void> {
    const gen = this.local.sessionOf(userId) ?? (await this.readSession(userId)).holdGen;
    await runChange(this.buses.forRoom(roomId), 'clusterHold', this.processId, roomId, userId, kind, gen, this.options.maxMembersPerRoom);
  }

  /** The user's session, from their partition: a hold of a user offline now is for their next session. */
  private async readSession(userId: string): Promise<{ online: boolean; gen: number; holdGen: number }> {
    const [online, gen, nextGen] = (await runScript(this.buses.forUser(userId), 'clusterSession', userId)) as [number, number, number];
    return { online: online === 1, gen: Number(gen), holdGen: online === 1 ? Number(gen) : Number(nextGen) };
  }

  async release(roomId: string, userId: string, kind: HoldKind, reason: LeaveReason): Promise<void> {
    this.local.released(roomId, userId, kind);
    await runChange(this.buses.forRoom(roomId), 'clusterRelease', this.processId, roomId, userId, kind, reason);
  }

  async setTyping(roomId: string, userId: string, isTyping: boolean): Promise<void> {
    await runChange(this.buses.forRoom(roomId), 'clusterTyping', roomId, userId, isTyping ? '1' : '0', Date.now() + this.options.typingExpireMs);
  }

  async updatePresence(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): Promise<void> {
    await this.userChange('clusterPresence', userId, userId, status, metadata === undefined ? '' : JSON.stringify(metadata));
  }

  touch(userId: string): void {
    const now = Date.now();
    if (now - (this.lastTouch.get(userId) ?? 0) < touchEveryMs) return;
    this.lastTouch.set(userId, now);
    this.userChange('clusterActivity', userId, userId, 0).catch((error: unknown) => this.options.onError(error, 'recording activity'));
  }

  /** Checks this process's own users; the script decides, so two processes cannot both mark one idle. */
  sweepIdle(): void {
    for (const userId of this.local.users()) {
      this.userChange('clusterActivity', userId, userId, this.options.idleAfterMs).catch((error: unknown) => this.options.onError(error, 'idle sweep'));
    }
    for (const [userId, at] of this.lastTouch) if (Date.now() - at > touchEveryMs) this.lastTouch.delete(userId);
  }

  /** In the partitions of the rooms where someone is typing (the replica knows them). */
  private async sweepTyping(): Promise<void> {
    const buses = new Set([...this.replica.typingRooms()].map((roomId) => this.buses.forRoom(roomId)));
    await Promise.all([...buses].map((bus) => runScript(bus, 'clusterSweepTyping')));
  }

  apply(published: BusEvent): void {
    // A presence change to rooms in several partitions: its first part, from the user's partition, is the change.
    if (published.parts !== undefined && published.position !== published.event.id) return;
    const parsed = parseEventId(published.position ?? published.event.id);
    if (!parsed) return;
    this.replica.apply(published.event, parsed.sequence, parsed.epoch);
  }

  isMember(roomId: string, userId: string): boolean {
    return this.replica.isMember(roomId, userId);
  }
  members(roomId: string): Iterable<string> {
    return this.replica.members(roomId);
  }
  roomsOf(userId: string): string[] {
    return this.replica.roomsOf(userId);
  }
  details(roomId: string): RoomDetails | undefined {
    return this.replica.details(roomId);
  }
  list(): RoomDetails[] {
    return this.replica.list();
  }
  get roomCount(): number {
    return this.replica.roomCount;
  }
  presenceOf(userId: string): UserPresence | undefined {
    return this.replica.presenceOf(userId);
  }
  online(): UserPresence[] {
    return this.replica.online();
  }
  all(): UserPresence[] {
    return this.replica.all();
  }
  typingIn(roomId: string): string[] {
    return this.replica.typingIn(roomId);
  }

  /** Per-process numbers from every live process's last heartbeat (kept in the first partition). */
  async processes(): Promise<Array<{ processId: string; stats: Record<string, number> }>> {
    const first = this.buses.all()[0]!;
    const raw = await first.redis.hgetall(first.key('procstats'));
    return Object.entries(raw).map(([processId, json]) => ({ processId, stats: JSON.parse(json) as Record<string, number> }));
  }

  private async heartbeat(): Promise<void> {
    const stats = JSON.stringify(this.options.processStats?.() ?? {});
    await Promise.all(
      this.buses.all().map(async (bus, index) => {
        const stale = (await runScript(bus, 'clusterHeartbeat', this.processId, index === 0 ? stats : '', this.deadAfterMs)) as string[];
        for (const processId of stale) {
          if (processId !== this.processId) await reapPartition(bus, processId, this.deadAfterMs, (userId) => this.roomsOfUser(userId));
        }
      }),
    );
  }

  private roomsOfUser(userId: string): UserRooms {
    return userRooms(this.buses, userId, this.replica.roomsOf(userId));
  }

  /**
   * Runs a script of the user's state with the user's rooms (membership-parts), publishes its
   * presence change to their rooms in other partitions, and waits until this process's replica
   * holds the change.
   */
  private async userChange(name: ScriptName, userId: string, ...args: Array<string | number>) {
    const bus = this.buses.forUser(userId);
    const rooms = this.roomsOfUser(userId);
    const result = await runUserChange(bus, name, ...args, ...roomArguments(rooms));
    await publishOtherParts(result.presenceMessage, rooms);
    if (result.sequence > 0) await bus.delivered(result.sequence);
    return { ...result, rooms };
  }
}
