/** Input schemas shared by the routers: every string bounded, ids non-empty. */
import { z } from 'zod';
import type { EventType } from '../../shared/events.js';
import { idSchema } from '../../shared/ids.js';
import { limits } from '../../shared/limits.js';

/** The one id rule, shared with event payloads and token subjects (shared/ids.ts). */
export { idSchema };
export const reasonSchema = z.string().max(limits.maxShortTextLength);
export const lastEventIdSchema = z.string().min(1).max(limits.maxResumeIdLength).optional();
/**
 * An event type's name: typed as the catalog's names for callers, a bounded string on the wire;
 * the procedure checks it against the server's catalog (built-in and app types).
 */
export const eventTypeNameSchema = z.custom<EventType>(
  (value) => typeof value === 'string' && value.length > 0 && value.length <= limits.maxIdLength,
  'Expected an event type name',
);
export const eventTypesSchema = z.array(eventTypeNameSchema).min(1).max(64).optional();
export const roomInput = z.object({ roomId: idSchema });
