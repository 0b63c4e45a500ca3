/**
 * Rooms, presence and typing for many processes: state in Redis, changed only by the atomic
 * scripts in cluster-scripts (which publish the events that describe each change), read from a
 * local replica folded from those events.
 *
 * Each process heartbeats; any process that sees another's heartbeat older than
 * `deadAfterMs` reaps it (its connections and room holds go, with the usual offline and leave
 * events), exactly once whichever process gets there first. Typing expiry is swept the same way.
 */
import { randomUUID } from 'node:crypto';
import { parseEventId } from '../../shared/event-id.js';
import type { UserPresence } from '../../shared/presence.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { errorCodes, type ErrorCode } from '../../shared/codes.js';
import type { BusEvent } from '../bus/bus.js';
import type { RedisBus } from '../bus/redis-bus.js';
import { RealtimeError } from '../errors.js';
import type { ChosenStatus, HoldKind, LeaveReason, MembershipState } from '../core/membership-state.js';
import type { RoomDetails } from '../core/rooms.js';
import { ClusterReplica, type ClusterSnapshot } from './cluster-replica.js';
import * as scripts from './cluster-scripts.js';

export interface RedisMembershipOptions {
  /** On a Redis Cluster the membership partition's bus, known once the cluster bus has started. */
  bus: RedisBus | (() => RedisBus);
  /** @default a random id per process */
  processId?: string;
  /** A process silent this long is presumed dead and reaped. @default 15000 */
  deadAfterMs?: number;
  /** @default deadAfterMs / 3 */
  heartbeatMs?: number;
  idleAfterMs: number;
  typingExpireMs: number;
  maxRooms: number;
  maxRoomsPerUser: number;
  maxMembersPerRoom: number;
  /** Numbers for the per-process breakdown of statistics, written with each heartbeat. */
  processStats?: () => Record<string, number>;
  onError: (error: unknown, context: string) => void;
}

type ScriptName = keyof typeof scriptSources;
const scriptSources = {
  clusterConnect: scripts.connectScript,
  clusterDisconnect: scripts.disconnectScript,
  clusterHold: scripts.holdScript,
  clusterRelease: scripts.releaseScript,
  clusterTyping: scripts.typingScript,
  clusterSweepTyping: scripts.sweepTypingScript,
  clusterPresence: scripts.presenceScript,
  clusterActivity: scripts.activityScript,
  clusterHeartbeat: scripts.heartbeatScript,
  clusterReap: scripts.reapScript,
  clusterSnapshot: scripts.snapshotScript,
} as const;

/** Touches are written at most this often per user, so a chatty client costs no Redis round trip per call. */
const touchEveryMs = 1_000;

export class RedisMembership implements MembershipState {
  readonly processId: string;
  private readonly replica = new ClusterReplica();
  private readonly deadAfterMs: number;
  private readonly heartbeatMs: number;
  /** What this process holds, to put back into Redis if Redis loses its data. */
  private readonly localConnections = new Map<string, string>();
  private readonly localHolds = new Map<string, number>();
  private readonly localExplicitHolds = new Set<string>();
  private readonly lastTouch = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  /** While a snapshot is being fetched: the events folded meanwhile (see loadSnapshot). */
  private arrivingDuringSnapshot: Array<[RealtimeEvent, number, string]> | undefined;
  private started = false;

  constructor(private readonly options: RedisMembershipOptions) {
    this.processId = options.processId ?? randomUUID();
    this.deadAfterMs = options.deadAfterMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.deadAfterMs / 3));
  }

  private get bus(): RedisBus {
    const { bus } = this.options;
    return typeof bus === 'function' ? bus() : bus;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.bus.onResubscribed(({ dataLost }) => {
      if (dataLost) void this.reassertWithRetry();
    });
    await this.heartbeat();
    await this.loadSnapshot();
    const every = (ms: number, task: () => Promise<unknown>, context: string) => {
      const timer = setInterval(() => task().catch((error: unknown) => this.options.onError(error, context)), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.heartbeatMs, () => this.heartbeat(), 'cluster heartbeat');
    every(Math.max(50, Math.min(this.options.typingExpireMs / 4, 1_000)), () => this.run('clusterSweepTyping'), 'typing sweep');
    every(Math.max(50, Math.min(this.options.idleAfterMs / 2, 5_000)), async () => this.sweepIdle(), 'idle sweep');
  }

  async stop(): Promise<void> {
    this.started = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private async reassertWithRetry(): Promise<void> {
    for (let attempt = 0; attempt < 10 && this.started; attempt++) {
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
   * After Redis lost its data (restarted without persistence, flushed): puts back what this
   * process holds (its connections, its subscriptions' room holds, and explicit joins of users
   * still connected here), then re-reads the whole state. Every process does the same, so the
   * cluster's state is rebuilt from the processes that are alive, with the usual events.
   */
  async reassert(): Promise<void> {
    const { maxRoomsPerUser, maxMembersPerRoom, maxRooms } = this.options;
    const limits = [maxRoomsPerUser, maxMembersPerRoom, maxRooms] as const;
    for (const [connectionId, userId] of this.localConnections) await this.run('clusterConnect', this.processId, userId, connectionId);
    for (const [member, count] of this.localHolds) {
      const [roomId, userId] = member.split('\u0000') as [string, string];
      for (let index = 0; index < count; index++) await this.run('clusterHold', this.processId, roomId, userId, 'subscription', ...limits);
    }
    const connectedHere = new Set(this.localConnections.values());
    for (const member of this.localExplicitHolds) {
      const [roomId, userId] = member.split('\u0000') as [string, string];
      if (connectedHere.has(userId)) await this.run('clusterHold', this.processId, roomId, userId, 'explicit', ...limits);
      else this.localExplicitHolds.delete(member);
    }
    await this.heartbeat();
    await this.loadSnapshot();
  }

  /**
   * Replaces the replica with a snapshot. Events that arrive while the snapshot is on its way are
   * folded into the old state and would be wiped by the load: they are kept and folded again
   * after it (the replica skips those the snapshot already holds). Without this, a member put
   * back by another process during a Redis recovery went missing from this process's view.
   */
  private async loadSnapshot(): Promise<void> {
    const arrived: Array<[RealtimeEvent, number, string]> = [];
    this.arrivingDuringSnapshot = arrived;
    try {
      this.replica.load(JSON.parse((await this.run('clusterSnapshot')) as string) as ClusterSnapshot);
      for (const [event, sequence, epoch] of arrived) this.replica.apply(event, sequence, epoch);
    } finally {
      if (this.arrivingDuringSnapshot === arrived) this.arrivingDuringSnapshot = undefined;
    }
  }

  async connect(connectionId: string, userId: string): Promise<void> {
    this.localConnections.set(connectionId, userId);
    await this.change('clusterConnect', this.processId, userId, connectionId);
  }

  async disconnect(connectionId: string, userId: string, reason: string): Promise<void> {
    this.localConnections.delete(connectionId);
    await this.change('clusterDisconnect', this.processId, userId, connectionId, reason);
  }

  async hold(roomId: string, userId: string, kind: HoldKind): Promise<void> {
    const { maxRoomsPerUser, maxMembersPerRoom, maxRooms } = this.options;
    await this.change('clusterHold', this.processId, roomId, userId, kind, maxRoomsPerUser, maxMembersPerRoom, maxRooms);
    const member = `${roomId}\u0000${userId}`;
    if (kind === 'explicit') this.localExplicitHolds.add(member);
    else this.localHolds.set(member, (this.localHolds.get(member) ?? 0) + 1);
  }

  async release(roomId: string, userId: string, kind: HoldKind, reason: LeaveReason): Promise<void> {
    const member = `${roomId}\u0000${userId}`;
    if (kind === 'explicit') this.localExplicitHolds.delete(member);
    else {
      const left = (this.localHolds.get(member) ?? 1) - 1;
      if (left <= 0) this.localHolds.delete(member);
      else this.localHolds.set(member, left);
    }
    await this.change('clusterRelease', this.processId, roomId, userId, kind, reason);
  }

  async setTyping(roomId: string, userId: string, isTyping: boolean): Promise<void> {
    await this.change('clusterTyping', roomId, userId, isTyping ? '1' : '0', Date.now() + this.options.typingExpireMs);
  }

  async updatePresence(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): Promise<void> {
    await this.change('clusterPresence', userId, status, metadata === undefined ? '' : JSON.stringify(metadata));
  }

  touch(userId: string): void {
    const now = Date.now();
    if (now - (this.lastTouch.get(userId) ?? 0) < touchEveryMs) return;
    this.lastTouch.set(userId, now);
    this.run('clusterActivity', userId, 0).catch((error: unknown) => this.options.onError(error, 'recording activity'));
  }

  /** Checks this process's own users; the script decides, so two processes cannot both mark one idle. */
  sweepIdle(): void {
    for (const userId of new Set(this.localConnections.values())) {
      this.run('clusterActivity', userId, this.options.idleAfterMs).catch((error: unknown) => this.options.onError(error, 'idle sweep'));
    }
    for (const [userId, at] of this.lastTouch) if (Date.now() - at > touchEveryMs) this.lastTouch.delete(userId);
  }

  apply(published: BusEvent): void {
    const parsed = parseEventId(published.event.id);
    if (!parsed) return;
    this.replica.apply(published.event, parsed.sequence, parsed.epoch);
    this.arrivingDuringSnapshot?.push([published.event, parsed.sequence, parsed.epoch]);
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

  /** Per-process numbers from every live process's last heartbeat. */
  // (implements MembershipState.processes)
  async processes(): Promise<Array<{ processId: string; stats: Record<string, number> }>> {
    const raw = await this.bus.redis.hgetall(this.bus.key('procstats'));
    return Object.entries(raw).map(([processId, json]) => ({ processId, stats: JSON.parse(json) as Record<string, number> }));
  }

  private async heartbeat(): Promise<void> {
    const stats = JSON.stringify(this.options.processStats?.() ?? {});
    const stale = (await this.run('clusterHeartbeat', this.processId, stats, this.deadAfterMs)) as string[];
    for (const processId of stale) {
      if (processId !== this.processId) await this.run('clusterReap', processId, this.deadAfterMs);
    }
  }

  private async run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await this.bus.runScript(name, scriptSources[name], args);
    } catch (error) {
      throw toRealtimeError(error);
    }
  }

  /** Runs a mutation and waits until this process's replica holds its result. */
  private async change(name: ScriptName, ...args: Array<string | number>): Promise<void> {
    const sequence = Number(await this.run(name, ...args));
    if (sequence > 0) await this.bus.delivered(sequence);
  }
}

/** Scripts answer `CODE message` for refusals; anything else means Redis is unavailable. */
function toRealtimeError(error: unknown): RealtimeError {
  const message = error instanceof Error ? error.message : String(error);
  const [code, ...rest] = message.split(' ');
  if ((errorCodes as readonly string[]).includes(code ?? '')) return new RealtimeError(code as ErrorCode, rest.join(' '));
  return new RealtimeError('SERVICE_UNAVAILABLE', 'The cluster state (Redis) is unavailable', { cause: error });
}
