/**
 * Whose presence a caller may see: their own, and that of users who share a room with them
 * (both members). Admins and services see everyone; to anyone else a user reads as offline. Presence metadata is often what an agent
 * workspace keeps private (which project someone is looking at), so a room is the boundary.
 */
import type { UserPresence } from '../../shared/presence.js';
import type { RealtimeCore } from '../core/realtime-core.js';
import type { AuthUser } from './auth.js';

export function seesEveryone(viewer: AuthUser): boolean {
  return viewer.role !== 'user';
}

export function sharesRoom(core: RealtimeCore, viewerId: string, userId: string): boolean {
  return viewerId === userId || core.roomsOf(viewerId).some((roomId) => core.isRoomMember(roomId, userId));
}

export function presenceVisible(core: RealtimeCore, viewer: AuthUser, userId: string): boolean {
  return seesEveryone(viewer) || sharesRoom(core, viewer.userId, userId);
}

/** How a user the caller may not see reads: offline, never seen. */
export function unseen(userId: string): UserPresence {
  return { userId, status: 'offline', lastSeen: new Date(0), connections: 0, idle: false };
}

/** The caller's view of who is online. */
export function visibleOnline(core: RealtimeCore, viewer: AuthUser): UserPresence[] {
  const online = core.onlineUsers();
  if (seesEveryone(viewer)) return online;
  const visible = new Set<string>([viewer.userId]);
  for (const roomId of core.roomsOf(viewer.userId)) for (const member of core.roomMemberIds(roomId)) visible.add(member);
  return online.filter((presence) => visible.has(presence.userId));
}
