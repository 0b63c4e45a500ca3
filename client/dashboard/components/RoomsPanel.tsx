/** Rooms and who is in them, each member with their presence; a room's live cursors on demand. */
import { useState } from 'react';
import type { PresenceEntry, RoomSummary } from '../live/api-types.js';
import { LiveCursors } from './LiveCursors.js';

/** Rooms and member chips rendered; the biggest rooms come first. */
const maxRoomsShown = 30;
const maxMembersShown = 24;

export interface RoomsPanelProps {
  rooms: readonly RoomSummary[];
  presenceByUser: ReadonlyMap<string, PresenceEntry>;
  /** The rooms query failed (refused, unreachable): shown instead of an empty list. */
  error?: { message: string } | null;
}

export function RoomsPanel({ rooms, presenceByUser, error }: RoomsPanelProps) {
  const [watched, setWatched] = useState<string | null>(null);
  const sorted = [...rooms].sort((a, b) => b.memberCount - a.memberCount || a.roomId.localeCompare(b.roomId));
  return (
    <section className="panel" data-testid="rooms-panel">
      <div className="panel-header">
        <h2>Rooms</h2>
        <span className="count">{rooms.length}</span>
      </div>
      {error ? (
        <div className="error-text" role="alert" data-testid="rooms-error">
          Rooms unavailable: {error.message}
        </div>
      ) : sorted.length === 0 ? (
        <div className="empty">No open rooms.</div>
      ) : (
        sorted.slice(0, maxRoomsShown).map((room) => (
          <div className="room" key={room.roomId} data-testid={`room-${room.roomId}`}>
            <div className="room-title">
              <span>#{room.roomId}</span>
              <span className="muted">
                {room.memberCount} member{room.memberCount === 1 ? '' : 's'}{' '}
                <button type="button" className="link" onClick={() => setWatched(watched === room.roomId ? null : room.roomId)}>
                  {watched === room.roomId ? 'hide cursors' : 'cursors'}
                </button>
              </span>
            </div>
            {watched === room.roomId && <LiveCursors roomId={room.roomId} />}
            <div className="chips">
              {room.members.slice(0, maxMembersShown).map((userId) => {
                const presence = presenceByUser.get(userId);
                return (
                  <span className="chip" key={userId}>
                    <span className="status-dot" data-status={presence?.status ?? 'offline'} data-idle={presence?.idle ?? false} />
                    {userId}
                  </span>
                );
              })}
              {room.members.length > maxMembersShown && <span className="chip">+{room.members.length - maxMembersShown}</span>}
            </div>
          </div>
        ))
      )}
      {sorted.length > maxRoomsShown && <div className="muted">and {sorted.length - maxRoomsShown} smaller rooms</div>}
    </section>
  );
}
