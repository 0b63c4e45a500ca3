/**
 * The `{ type, data }` of the publishing procedures (admin.send, admin.broadcast, rooms.publish).
 * For callers the compiler pairs the two (`data` is the payload of `type`, built-in or app), so a
 * payload of the wrong shape does not compile. On the wire it is a bounded type name and any
 * data, and the resolver gets it as such: the core checks the name against the server's catalog
 * and validates `data` against its schema (RealtimeCore.publishInput).
 */
import { z } from 'zod';
import type { EventPublication, EventType } from '../../shared/events.js';
import { limits } from '../../shared/limits.js';

/** What the resolver receives: checked by the core, not yet by the compiler. */
export interface WirePublication {
  type: string;
  data: unknown;
}

const publicationShape = z.object({ type: z.string().min(1).max(limits.maxIdLength), data: z.unknown() });

/** Input type `EventPublication<Types>` (for callers), output `WirePublication` (for the resolver). */
export function typedPublication<Types extends EventType>() {
  return z
    .custom<EventPublication<Types>>((value) => publicationShape.safeParse(value).success, 'Expected { type, data } with an event type name')
    .transform((value): WirePublication => value);
}
