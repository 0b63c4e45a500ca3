/**
 * Who may do what in a room: the one decision every room procedure and subscription asks.
 * Three things admit a user, checked in this order: their role (admins and services reach every
 * room), the patterns of their token's `rooms` claim or the server's `OPEN_ROOMS` (both
 * stateless, so every process of a cluster answers alike), and the embedding app's authorizer,
 * whose answers are cached for a short time in a bounded cache (Pusher's private-channel
 * endpoint and Ably's capabilities, as a function).
 */
import { LRUCache } from 'lru-cache';
import { RealtimeError } from '../core/errors.js';
import { anyRoomMatches } from '../core/room-patterns.js';
import type { AuthUser } from './auth.js';

export const roomActions = ['join', 'subscribe', 'read', 'type', 'publish'] as const;
/** join: rooms.join · subscribe: onRoom, and onEvent's room events · read: members, details, history · type: typing · publish: events into the room */
export type RoomAction = (typeof roomActions)[number];

export interface RoomAuthorizationRequest {
  user: AuthUser;
  roomId: string;
  action: RoomAction;
}

/**
 * The embedding app's decision for rooms the token and `OPEN_ROOMS` do not admit. True admits.
 * Its answers are cached (see `RoomAccessOptions.cacheTtlMs`) and asked again at that period
 * for rooms a user holds, so changing an answer takes a member out within about that long.
 */
export type RoomAuthorizer = (request: RoomAuthorizationRequest) => boolean | Promise<boolean>;

export interface RoomAccessOptions {
  /** Patterns every signed-in user may enter (`OPEN_ROOMS`). @default [] */
  openRooms?: readonly string[];
  authorize?: RoomAuthorizer;
  /** How long an authorizer's answer is used; also the period of the revocation sweep. @default 5000 */
  cacheTtlMs?: number;
  /** @default 10000 */
  maxCachedAnswers?: number;
}

export const defaultRoomAccessCacheTtlMs = 5_000;

export class RoomAccess {
  readonly cacheTtlMs: number;
  private readonly openRooms: readonly string[];
  private readonly authorize: RoomAuthorizer | undefined;
  private readonly answers: LRUCache<string, boolean>;
  /** One authorizer call per question at a time, however many ask at once. */
  private readonly pending = new Map<string, Promise<boolean>>();

  constructor(options: RoomAccessOptions = {}) {
    this.openRooms = options.openRooms ?? [];
    this.authorize = options.authorize;
    this.cacheTtlMs = options.cacheTtlMs ?? defaultRoomAccessCacheTtlMs;
    this.answers = new LRUCache({ max: options.maxCachedAnswers ?? 10_000, ttl: this.cacheTtlMs });
  }

  get hasAuthorizer(): boolean {
    return this.authorize !== undefined;
  }

  /** Role, claim or OPEN_ROOMS: what needs nobody's answer, and holds on every process alike. */
  admitsStatically(user: AuthUser, roomId: string): boolean {
    return user.role !== 'user' || anyRoomMatches(user.rooms, roomId) || anyRoomMatches(this.openRooms, roomId);
  }

  /** What is known now, without waiting: undefined when only the authorizer could say and its answer is not cached. */
  knownDecision(user: AuthUser, roomId: string, action: RoomAction): boolean | undefined {
    if (this.admitsStatically(user, roomId)) return true;
    if (!this.authorize) return false;
    return this.answers.get(keyOf(user, roomId, action));
  }

  /**
   * @param fresh ask the authorizer even if an answer is cached (the revocation sweep)
   * Rejects with SERVICE_UNAVAILABLE when the authorizer throws; such a failure is not cached.
   */
  async admits(user: AuthUser, roomId: string, action: RoomAction, options: { fresh?: boolean } = {}): Promise<boolean> {
    const known = options.fresh && this.authorize && !this.admitsStatically(user, roomId) ? undefined : this.knownDecision(user, roomId, action);
    if (known !== undefined) return known;
    const key = keyOf(user, roomId, action);
    let answer = this.pending.get(key);
    if (!answer) {
      // Forgotten once settled, even if the authorizer threw synchronously (then ask has already rejected).
      answer = this.ask({ user, roomId, action }, key).finally(() => this.pending.delete(key));
      this.pending.set(key, answer);
    }
    return answer;
  }

  /** Throws RealtimeError FORBIDDEN (or SERVICE_UNAVAILABLE when the authorizer fails) unless admitted. */
  async check(user: AuthUser, roomId: string, action: RoomAction): Promise<void> {
    if (await this.admits(user, roomId, action)) return;
    throw new RealtimeError('FORBIDDEN', `${user.userId} may not ${action} in room ${roomId}: not in the token's rooms claim, OPEN_ROOMS or the room authorizer`);
  }

  /** Drops every cached answer about this user in this room (access was found revoked: ask again). */
  forget(userId: string, roomId: string): void {
    for (const action of roomActions) this.answers.delete(keyOf({ userId }, roomId, action));
  }

  /**
   * The synchronous filter of a stream that follows its user's rooms (onEvent): the fan-out asks
   * it for every room event. It answers from the claim, OPEN_ROOMS and the cached answers, and
   * otherwise from the last answer it saw for that room (the cache let it go; the authorizer is
   * asked again in the background, once per cache period); a room it has never heard of is
   * admitted meanwhile (its membership was checked when it began). `prime` asks about the rooms
   * the user holds before the stream starts.
   */
  followFilter(user: AuthUser): FollowedRoomsFilter {
    const last = new Map<string, boolean>();
    const remember = (roomId: string, admitted: boolean) => {
      last.set(roomId, admitted);
      // Bounded by the rooms a user may hold; forget the oldest beyond that.
      if (last.size > maxRememberedRooms) last.delete(last.keys().next().value!);
    };
    const askInBackground = (roomId: string) =>
      this.admits(user, roomId, 'subscribe').then(
        (admitted) => remember(roomId, admitted),
        () => undefined,
      );
    return {
      follows: (roomId) => {
        if (this.admitsStatically(user, roomId)) return true;
        if (!this.authorize) return false;
        const cached = this.answers.get(keyOf(user, roomId, 'subscribe'));
        if (cached !== undefined) {
          remember(roomId, cached);
          return cached;
        }
        void askInBackground(roomId);
        return last.get(roomId) ?? true;
      },
      prime: async (roomIds) => {
        await Promise.all(roomIds.filter((roomId) => this.authorize !== undefined && !this.admitsStatically(user, roomId)).map(askInBackground));
      },
    };
  }

  private async ask(request: RoomAuthorizationRequest, key: string): Promise<boolean> {
    try {
      const answer = (await this.authorize!(request)) === true;
      this.answers.set(key, answer);
      return answer;
    } catch (error) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', `The room authorizer failed for room ${request.roomId}`, { cause: error });
    }
  }
}

export interface FollowedRoomsFilter {
  follows(roomId: string): boolean;
  prime(roomIds: readonly string[]): Promise<void>;
}

const maxRememberedRooms = 1_000;

const keyOf = (user: Pick<AuthUser, 'userId'>, roomId: string, action: RoomAction) => `${action}\u0000${user.userId}\u0000${roomId}`;
