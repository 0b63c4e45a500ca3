/**
 * Membership changes and the one function that turns them into catalog events. Every atomic
 * membership operation (in memory: core/local-membership; with Redis: the scripts in
 * cluster/user-scripts and room-scripts) decides what changed and says so as a small tagged
 * change; the event describing it (type, data, routing, channels) is built only here, typed
 * against the catalog, so the Lua never writes event JSON and the two backends cannot drift apart.
 *
 * A room's membership changes go to its membership channel, not the room's own channel (see
 * bus/channels): a room subscription hears both, and each keeps its own bounded history.
 */
import type { EventDataMap } from '../../shared/events.js';
import type { PresenceStatus } from '../../shared/presence.js';
import type { PublishRequest } from './bus.js';
import { channels } from './channels.js';

export type LeaveReason = 'left' | 'disconnected' | 'unsubscribed';

export type MembershipChange =
  | { kind: 'connected'; userId: string; connectionId: string; connections: number }
  | { kind: 'disconnected'; userId: string; connectionId: string; connections: number; reason: string }
  | { kind: 'joined'; roomId: string; userId: string }
  | { kind: 'left'; roomId: string; userId: string; reason: LeaveReason }
  | { kind: 'typing'; roomId: string; userId: string; isTyping: boolean }
  /** `rooms`: the user's rooms at the time, whose members hear it. */
  | { kind: 'presence'; userId: string; status: PresenceStatus; lastSeen: Date; metadata?: PresenceMetadata; rooms: readonly string[] }
  | { kind: 'idle'; userId: string; idleSince: Date; rooms: readonly string[] };

export type PresenceMetadata = NonNullable<EventDataMap['user.presence']['metadata']>;

export const membershipEventTypes = ['connected', 'disconnected', 'room.joined', 'room.left', 'user.typing', 'user.presence', 'user.idle'] as const;
export type MembershipEventType = (typeof membershipEventTypes)[number];

const membershipTypeSet: ReadonlySet<string> = new Set(membershipEventTypes);
export const isMembershipEventType = (type: string): type is MembershipEventType => membershipTypeSet.has(type);

/** The publish request of one membership event, narrowed by its `type`. */
export type MembershipEvent = { [T in MembershipEventType]: PublishRequest<T> }[MembershipEventType];

/** The catalog event that describes `change`, with its routing and channels. */
export function membershipEvent(change: MembershipChange): MembershipEvent {
  switch (change.kind) {
    case 'connected': {
      const { userId, connectionId, connections } = change;
      return { type: 'connected', data: { userId, connectionId, connections }, channels: [], userId };
    }
    case 'disconnected': {
      const { userId, connectionId, connections, reason } = change;
      return { type: 'disconnected', data: { userId, connectionId, connections, reason }, channels: [], userId };
    }
    case 'joined': {
      const { roomId, userId } = change;
      return { type: 'room.joined', data: { roomId, userId }, channels: [channels.roomMembers(roomId)], roomId, senderId: userId };
    }
    case 'left': {
      const { roomId, userId, reason } = change;
      return { type: 'room.left', data: { roomId, userId, reason }, channels: [channels.roomMembers(roomId)], roomId, senderId: userId };
    }
    case 'typing': {
      const { roomId, userId, isTyping } = change;
      return { type: 'user.typing', data: { userId, roomId, isTyping }, channels: [channels.roomMembers(roomId)], roomId, senderId: userId };
    }
    case 'presence': {
      const { userId, status, lastSeen, metadata } = change;
      const data = { userId, status, lastSeen, ...(metadata !== undefined && { metadata }) };
      return { type: 'user.presence', data, channels: presenceChannels(change.rooms), userId, senderId: userId };
    }
    case 'idle': {
      const { userId, idleSince } = change;
      return { type: 'user.idle', data: { userId, idleSince }, channels: presenceChannels(change.rooms), userId, senderId: userId };
    }
  }
}

/** A user's presence reaches the members of each of their rooms, and operators. */
function presenceChannels(rooms: readonly string[]): string[] {
  return [...rooms.map(channels.roomMembers), channels.presence];
}
