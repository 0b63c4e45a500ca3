/**
 * Typed publishing for admins: `admin.send` and `admin.broadcast` already pair `data` with
 * `type` for the compiler (built-in and app types); these wrappers take them as two arguments,
 * `client.broadcast('sphere.updated', { changed: ['name'] }, { roomId })`. The server validates
 * the data against the catalog whatever the compiler saw.
 */
import type { EventDataInput, EventPublication, PublishableEventType } from '../shared/events.js';
import type { RealtimeApi } from './event-streams.js';
import type { RouterOutputs } from './router-types.js';

export type PublishResult = RouterOutputs['admin']['send'];

/** The typed publish helpers of a RealtimeClient (role admin; others get FORBIDDEN). */
export function createPublishers(api: RealtimeApi) {
  return {
    /** Sends an event to one user (all of their connections). */
    sendToUser<T extends PublishableEventType>(userId: string, type: T, data: EventDataInput<T>): Promise<PublishResult> {
      return api.admin.send.mutate({ userId, ...publication(type, data) });
    },
    /** Broadcasts an event to a room, or without `roomId` to every connected user. */
    broadcast<T extends PublishableEventType>(type: T, data: EventDataInput<T>, options: { roomId?: string } = {}): Promise<PublishResult> {
      return api.admin.broadcast.mutate({ ...publication(type, data), ...(options.roomId !== undefined && { roomId: options.roomId }) });
    },
  };
}

/**
 * The pair as the procedures' input union. The compiler cannot see that a generic `T` and
 * `EventDataInput<T>` make one member of the union (it has no correlated generics), hence the
 * one assertion; the signatures above are what checks the caller.
 */
export function publication<T extends PublishableEventType>(type: T, data: EventDataInput<T>): EventPublication<PublishableEventType> {
  return { type, data } as EventPublication<PublishableEventType>;
}

export type Publishers = ReturnType<typeof createPublishers>;
