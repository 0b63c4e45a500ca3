/** What every publish checks and where a publish from a procedure's input goes. */
import type { EventDataInput, EventDataMap, EventType } from '../../shared/events.js';
import { channels } from '../bus/channels.js';
import type { EventCatalog } from './event-catalog.js';
import { toValidationError } from './validation.js';

export interface PublishOptions {
  roomId?: string;
  userId?: string;
  senderId?: string;
}

/** Who a publish from a procedure's input goes to. */
export type PublishTarget = { userId: string } | { roomId: string } | 'everyone';

/** `data` validated against the catalog's schema of `type`; BAD_REQUEST with the zod issues otherwise. */
export function validatedData<T extends EventType>(catalog: EventCatalog, type: T, data: EventDataInput<T> | EventDataMap[T] | unknown): EventDataMap[T] {
  try {
    return catalog.parse(type, data);
  } catch (error) {
    throw toValidationError(type, error);
  }
}

/** The channel and routing fields of a publish to `target`. */
export function routeTo(target: PublishTarget): { channels: string[] } & PublishOptions {
  if (target === 'everyone') return { channels: [channels.everyone] };
  if ('userId' in target) return { channels: [channels.user(target.userId)], userId: target.userId };
  return { channels: [channels.room(target.roomId)], roomId: target.roomId };
}
