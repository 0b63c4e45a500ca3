/**
 * Where rooms, presence and typing live. The core asks this interface and never cares which:
 * in one process the state is in memory; with Redis it is cluster-wide, changed by atomic
 * scripts, and read from a replica every process folds from the event stream.
 *
 * Mutations are atomic check-and-change operations that publish the changes they made, each
 * turned into its event (room.joined, user.presence, ...) by bus/membership-events. Reads are
 * synchronous: the fan-out asks who is in a room for every room event. Who is in which room is
 * the same fold of room events (core/room-membership) in both.
 */
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import type { BusEvent } from '../bus/bus.js';
import type { LeaveReason } from '../bus/membership-events.js';
import type { RoomDetails } from './rooms.js';

/** Bounds and timings of rooms and presence, written once: the core, every backend and the env vars default to them. */
export const membershipDefaults = {
  maxRooms: 10_000,
  maxRoomsPerUser: 100,
  maxMembersPerRoom: 10_000,
  /** Quiet time after which a connected user is idle. */
  idleAfterMs: 300_000,
  /** A typing indicator stops by itself after this long without a refresh. */
  typingExpireMs: 5_000,
} as const;

export type HoldKind = 'explicit' | 'subscription';
export type { LeaveReason } from '../bus/membership-events.js';
export type ChosenStatus = Exclude<PresenceStatus, 'offline'>;

export interface MembershipState {
  start(): Promise<void>;
  stop(): Promise<void>;

  connect(connectionId: string, userId: string): Promise<void>;
  disconnect(connectionId: string, userId: string, reason: string): Promise<void>;
  /** Throws RealtimeError (TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE) when a bound is hit. */
  hold(roomId: string, userId: string, kind: HoldKind): Promise<void>;
  release(roomId: string, userId: string, kind: HoldKind, reason: LeaveReason): Promise<void>;
  /** Throws RealtimeError FORBIDDEN for a non-member. */
  setTyping(roomId: string, userId: string, isTyping: boolean): Promise<void>;
  /** Throws RealtimeError PRECONDITION_FAILED while the user has no connection. */
  updatePresence(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): Promise<void>;
  /** Activity: an idle user becomes active again. */
  touch(userId: string): void;
  sweepIdle(): void;
  /** Called for every bus event before it is fanned out, so reads see the change it describes. */
  apply(published: BusEvent): void;

  isMember(roomId: string, userId: string): boolean;
  members(roomId: string): Iterable<string>;
  roomsOf(userId: string): string[];
  details(roomId: string): RoomDetails | undefined;
  list(): RoomDetails[];
  readonly roomCount: number;
  presenceOf(userId: string): UserPresence | undefined;
  online(): UserPresence[];
  all(): UserPresence[];
  typingIn(roomId: string): string[];
  /** Per-process numbers of every live process, where there are several. */
  processes?(): Promise<Array<{ processId: string; stats: Record<string, number> }>>;
}
