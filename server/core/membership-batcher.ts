/**
 * Collects each room's membership changes (joins, leaves, presence, idle) for one window and
 * hands over one `room.membership` per room and window (shared/room-membership.ts): a room of N
 * filling up costs each member O(windows) events instead of O(N) (issue 17).
 *
 * It batches at the delivery edge, on every process, from the changes its bus delivers: each
 * change still crosses the bus once, as its own stored event (the Redis scripts publish it in
 * the same atomic step as the change, and every replica folds it), and this process's members
 * get one event per room and window whatever the number of processes. Every room's batch is
 * flushed in the same tick, so no change older than a flushed batch's id is left waiting, except
 * a large room's summary held back until `ROOM_SUMMARY_MS` has passed since its last (see flush).
 */
import type { EventDataMap, EventType, RealtimeEvent } from '../../shared/events.js';
import { isBatchedMembershipType, maxMembershipChanges, type BatchedMembershipType, type RoomMembershipMode } from '../../shared/room-membership.js';
import type { MembershipChangeItem } from '../../shared/membership-batches.js';
import type { BusEvent, EventBus } from '../bus/bus.js';
import { channels, roomIdOfChannel } from './channels.js';
import type { SubscriptionIndex } from './fanout.js';
import type { MembershipState } from './membership-state.js';

export type RoomMembershipData = EventDataMap['room.membership'];

export interface MembershipBatcherOptions {
  /** How long changes are collected before a room's batch goes out. */
  windowMs: number;
  /** Rooms with more members than this get a summary instead of the listed changes. */
  detailMax: number;
  /**
   * A room in summary mode gets at most one summary this often (its counts add up meanwhile): a
   * summary is only the room's size, and while thousands (re)join, one per window to each member
   * was most of the frames the server wrote (issue 17). 0: one per window.
   */
  summaryEveryMs: number;
  /** The room's size when its batch goes out. */
  memberCount: (roomId: string) => number;
  /** Called once per room with changes, each window. */
  deliver: (data: RoomMembershipData) => void;
  /** Makes the batch event of `data` (for a resume's replay, delivered by the caller). */
  stamp: (data: RoomMembershipData) => RealtimeEvent<'room.membership'>;
}

interface PendingRoom {
  changes: MembershipChangeItem[];
  /** More changes arrived than a detail batch may list: this window is a summary. */
  overflowed: boolean;
  joined: number;
  left: number;
}

export class MembershipBatcher {
  private readonly pending = new Map<string, PendingRoom>();
  /** When each room last got a summary, for rooms that got one within `summaryEveryMs`. */
  private readonly lastSummaryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MembershipBatcherOptions) {}

  /** Rooms with changes waiting (bounded by the rooms that changed within one window). */
  get pendingRooms(): number {
    return this.pending.size;
  }

  /**
   * Takes the room channels of a stored membership change for the rooms' next batches; returns
   * what is to be fanned out now (its other channels: operators' presence, and the firehose), or
   * the event unchanged when it is no membership change of a room.
   */
  take(published: BusEvent): BusEvent {
    const rooms = roomsOfChange(published);
    if (rooms.length === 0) return published;
    for (const roomId of rooms) this.offer(roomId, published.event as RealtimeEvent<BatchedMembershipType>);
    return { ...published, channels: published.channels.filter((channel) => roomIdOfChannel(channel) === undefined) };
  }

  /**
   * A resume's replay with the rooms' membership changes folded into one batch per room (a
   * summary for a large room), as live delivery would have sent them: a client back after a
   * restart of a 5,000-member room otherwise replayed 5,000 joins, and every client did.
   */
  collapseReplay(replayed: readonly BusEvent[], hears: (roomId: string) => boolean): { events: BusEvent[]; batches: RealtimeEvent[] } {
    const rooms = new Map<string, PendingRoom>();
    const events = replayed.filter((published) => {
      const changed = roomsOfChange(published).filter(hears);
      for (const roomId of changed) addChange(rooms, roomId, published.event as RealtimeEvent<BatchedMembershipType>);
      return changed.length === 0;
    });
    const batches = [...rooms].flatMap(([roomId, room]) => {
      const data = this.batchOf(roomId, room);
      return data ? [this.options.stamp(data)] : [];
    });
    return { events, batches };
  }

  /** Adds a change of `roomId`; the window starts with the first change after a flush. */
  offer(roomId: string, event: RealtimeEvent<BatchedMembershipType>): void {
    addChange(this.pending, roomId, event);
    this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.options.windowMs);
    // Never keeps the process alive; stop() flushes what is left.
    this.timer.unref();
  }

  /** What a room of this size is sent. */
  modeFor(memberCount: number): RoomMembershipMode {
    return memberCount > this.options.detailMax ? 'summary' : 'detail';
  }

  /**
   * Hands over every room's batch now, except a summary due later (`summaryEveryMs`), which keeps
   * adding up. What a summary says is the room's size, always current when it goes out, so a
   * member that resumes from a later batch's id loses no state by the wait, only the joined and
   * left counts of the windows it was away for. `force` (stopping): every room now.
   */
  flush(force = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rooms = [...this.pending];
    this.pending.clear();
    const now = Date.now();
    for (const [roomId, at] of this.lastSummaryAt) if (now - at >= this.options.summaryEveryMs) this.lastSummaryAt.delete(roomId);
    for (const [roomId, room] of rooms) {
      const data = this.batchOf(roomId, room);
      if (data?.mode === 'summary' && !force) {
        if (this.lastSummaryAt.has(roomId)) {
          this.pending.set(roomId, room);
          continue;
        }
        if (this.options.summaryEveryMs > 0) this.lastSummaryAt.set(roomId, now);
      }
      if (data) this.options.deliver(data);
    }
    if (this.pending.size > 0) this.arm();
  }

  private batchOf(roomId: string, room: PendingRoom): RoomMembershipData | undefined {
    const memberCount = this.options.memberCount(roomId);
    if (this.modeFor(memberCount) === 'detail' && !room.overflowed) return { roomId, mode: 'detail', memberCount, changes: room.changes };
    // A summary says how the room's size moved; presence changes alone move nothing.
    return room.joined + room.left === 0 ? undefined : { roomId, mode: 'summary', memberCount, joined: room.joined, left: room.left };
  }

  stop(): void {
    this.flush(true);
  }
}

/** The rooms whose members a stored membership change is for; none for any other event. */
function roomsOfChange(published: BusEvent): string[] {
  if (published.ephemeral || !isBatchedMembershipType(published.event.type)) return [];
  return published.channels.map(roomIdOfChannel).filter((roomId): roomId is string => roomId !== undefined);
}

function addChange(rooms: Map<string, PendingRoom>, roomId: string, event: RealtimeEvent<BatchedMembershipType>): void {
  let room = rooms.get(roomId);
  if (!room) rooms.set(roomId, (room = { changes: [], overflowed: false, joined: 0, left: 0 }));
  if (event.type === 'room.joined') room.joined++;
  else if (event.type === 'room.left') room.left++;
  if (room.changes.length < maxMembershipChanges) room.changes.push(changeItem(event));
  else room.overflowed = true;
}

function changeItem({ id, type, data, timestamp }: RealtimeEvent<BatchedMembershipType>): MembershipChangeItem {
  // The union's members pair each type with its data; spelled apart and together again, TypeScript loses the pairing.
  return { id, type, data, timestamp } as MembershipChangeItem;
}

export interface MembershipBatchingOptions {
  /** 0: off. */
  membershipBatchMs?: number;
  /** @default 100 */
  roomPresenceDetailMax?: number;
  /** A summary-mode room's summaries at most this often. @default 1000 */
  roomSummaryMs?: number;
}

/**
 * The core's batcher, or none when batching is off: each room's batch is stamped like an
 * ephemeral event (its id names the newest stored event this process had delivered, so resuming
 * from it misses nothing) and never stored; each listed change is stored as its own event, which
 * is what a resume replays.
 */
export function createMembershipBatcher(
  options: MembershipBatchingOptions,
  core: { bus: EventBus; index: SubscriptionIndex; membership: MembershipState; count: (type: EventType) => void },
): MembershipBatcher | undefined {
  const windowMs = options.membershipBatchMs ?? 0;
  if (windowMs <= 0) return undefined;
  return new MembershipBatcher({
    windowMs,
    detailMax: options.roomPresenceDetailMax ?? 100,
    summaryEveryMs: options.roomSummaryMs ?? 1_000,
    memberCount: (roomId) => core.membership.details(roomId)?.memberCount ?? 0,
    deliver(data) {
      const event = this.stamp(data);
      core.count(event.type);
      core.index.fanOutRoomBatch(event, data.roomId, core.membership.members(data.roomId));
    },
    stamp: (data) => core.bus.stampEphemeral({ type: 'room.membership', data, roomId: data.roomId, channels: [channels.room(data.roomId)] }),
  });
}
