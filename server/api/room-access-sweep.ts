/**
 * Revocation: access is decided when a user joins or subscribes, and it can be taken back
 * afterwards, by the authorizer changing its answer or by a token refreshed without the room
 * (a WebSocket keeps the identity it opened with, so a refreshed token arrives on a new
 * connection, while the old one may still be open, or the user's explicit membership may
 * outlive it). The live room streams that could lose access are watched here (onRoom streams
 * the authorizer admitted; every onEvent stream), and every `cacheTtlMs` the sweep asks again,
 * bypassing the cache, for each room their user holds:
 * - an `onRoom` stream whose own token no longer admits its room ends with FORBIDDEN (the
 *   client is told, its hold on the room is released);
 * - an `onEvent` stream stops hearing that room (its filter reads the answers refreshed here);
 * - when no watched stream of the user admits a room any more, the user's explicit membership
 *   of it is released too, so their presence stops being visible there.
 * So a revoked member stops receiving the room's events within one sweep period plus one
 * authorizer call. An authorizer that fails during a sweep changes nothing (reported).
 */
import { RealtimeError } from '../core/errors.js';
import type { RealtimeCore } from '../core/realtime-core.js';
import type { AuthUser } from './auth.js';
import type { RoomAccess } from './room-access.js';

export interface WatchedRoomStream {
  user: AuthUser;
  /** The room an `onRoom` stream holds; absent for a stream that follows its user's rooms (`onEvent`). */
  roomId?: string;
  /** Ends the stream with this error (the client receives it). */
  end(error: RealtimeError): void;
}

export class RoomAccessSweep {
  private readonly streams = new Set<WatchedRoomStream>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly access: RoomAccess,
    private readonly core: RealtimeCore,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** Returns its own unwatch. */
  watch(stream: WatchedRoomStream): () => void {
    this.streams.add(stream);
    return () => {
      this.streams.delete(stream);
    };
  }

  get watchedCount(): number {
    return this.streams.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.access.cacheTtlMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass now; concurrent calls share it. Never rejects. */
  sweep(): Promise<void> {
    this.running ??= this.sweepNow()
      .catch((error: unknown) => this.onError(error, 'room access sweep'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async sweepNow(): Promise<void> {
    const byUser = new Map<string, WatchedRoomStream[]>();
    for (const stream of this.streams) {
      const list = byUser.get(stream.user.userId);
      if (list) list.push(stream);
      else byUser.set(stream.user.userId, [stream]);
    }
    await Promise.all([...byUser].map(([userId, streams]) => this.sweepUser(userId, streams)));
  }

  private async sweepUser(userId: string, streams: WatchedRoomStream[]): Promise<void> {
    const rooms = new Set(this.core.roomsOf(userId));
    for (const stream of streams) if (stream.roomId !== undefined) rooms.add(stream.roomId);
    for (const roomId of rooms) {
      const decisions = await Promise.all(streams.map((stream) => this.decide(stream.user, roomId)));
      // Taken back: what was cached for its other actions (join, read, type) is stale too.
      if (decisions.includes(false) && this.access.hasAuthorizer) this.access.forget(userId, roomId);
      streams.forEach((stream, index) => {
        if (stream.roomId === roomId && decisions[index] === false) {
          stream.end(new RealtimeError('FORBIDDEN', `Access to room ${roomId} was revoked`));
        }
      });
      if (decisions.every((decision) => decision === false) && this.core.isRoomMember(roomId, userId)) {
        await this.core.leaveRoom(userId, roomId);
      }
    }
  }

  private async decide(user: AuthUser, roomId: string): Promise<boolean | undefined> {
    try {
      return await this.access.admits(user, roomId, 'subscribe', { fresh: true });
    } catch (error) {
      this.onError(error, `room authorizer during the sweep (${roomId})`);
      return undefined;
    }
  }
}
