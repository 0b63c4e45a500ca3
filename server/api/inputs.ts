/** Input schemas shared by the routers: every string bounded, ids non-empty. */
import { z } from 'zod';
import { eventTypeSchema } from '../../shared/events.js';
import { limits } from '../../shared/limits.js';

export const idSchema = z.string().min(1).max(limits.maxIdLength);
export const reasonSchema = z.string().max(limits.maxShortTextLength);
export const lastEventIdSchema = z.string().min(1).max(limits.maxIdLength).optional();
export const eventTypesSchema = z.array(eventTypeSchema).min(1).max(64).optional();
export const roomInput = z.object({ roomId: idSchema });
