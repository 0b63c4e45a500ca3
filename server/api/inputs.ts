/** Input schemas shared by the routers: every string bounded, ids non-empty. */
import { z } from 'zod';
import { eventTypeSchema } from '../../shared/events.js';
import { idSchema } from '../../shared/ids.js';
import { limits } from '../../shared/limits.js';

/** The one id rule, shared with event payloads and token subjects (shared/ids.ts). */
export { idSchema };
export const reasonSchema = z.string().max(limits.maxShortTextLength);
export const lastEventIdSchema = z.string().min(1).max(limits.maxIdLength).optional();
export const eventTypesSchema = z.array(eventTypeSchema).min(1).max(64).optional();
export const roomInput = z.object({ roomId: idSchema });
