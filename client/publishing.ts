/**
 * Typed publishing for admins: `admin.send` and `admin.broadcast` take `data: unknown` on the
 * wire (the server validates it against the catalog), so these wrappers give the compiler the
 * catalog's payload type of the chosen event type, and a wrong payload does not compile.
 */
import type { EventDataInput, EventType } from '../shared/events.js';
import type { RealtimeApi } from './event-streams.js';
import type { RouterOutputs } from './router-types.js';

export type PublishResult = RouterOutputs['admin']['send'];

/** The typed publish helpers of a RealtimeClient (role admin; others get FORBIDDEN). */
export function createPublishers(api: RealtimeApi) {
  return {
    /** Sends an event to one user (all of their connections). */
    sendToUser<T extends EventType>(userId: string, type: T, data: EventDataInput<T>): Promise<PublishResult> {
      return api.admin.send.mutate({ userId, type, data });
    },
    /** Broadcasts an event to a room, or without `roomId` to every connected user. */
    broadcast<T extends EventType>(type: T, data: EventDataInput<T>, options: { roomId?: string } = {}): Promise<PublishResult> {
      return api.admin.broadcast.mutate({ type, data, ...(options.roomId !== undefined && { roomId: options.roomId }) });
    },
  };
}

export type Publishers = ReturnType<typeof createPublishers>;
