/**
 * The app's own event types, beside the built-in catalog. At run time an app passes them to
 * `createRealtimeServer({ events })`; at the type level it registers the same object once, and
 * every type of the package (the router's outputs, the vanilla client, the producer, the hooks,
 * admin.send/broadcast's `data`) then knows them as it knows the built-in ones:
 *
 * ```ts
 * export const events = defineEvents({
 *   'chat.message': { schema: z.object({ text: z.string().max(2000) }), clientPublishable: true },
 * });
 * declare module 'agent-realtime/shared' {
 *   interface Register { events: typeof events }
 * }
 * ```
 *
 * A registry interface (TanStack Router's `Register`) rather than a type parameter threaded
 * through every client type and hook: the app states its events once, and no hook call needs a
 * generic argument or a cast. No zod value is imported here, so this file costs a bundle nothing.
 */
import type { z } from 'zod';

export interface AppEventDefinition<Schema extends z.ZodType = z.ZodType> {
  /** Validates `data` on every publish; its output type is the payload type handlers receive. */
  schema: Schema;
  /** Room members may publish it into a room they are in with `rooms.publish` (`senderId` is the caller). @default false */
  clientPublishable?: boolean;
  /**
   * Delivered live only: never stored in any history, replayed or listed by `admin.history`, and
   * coalesced per (room, sender, type) to at most `EPHEMERAL_HZ` deliveries a second. @default false
   */
  ephemeral?: boolean;
}

/** The app's event types by name. A name must not be a built-in type nor start with a built-in category (`agent.`, `room.`…). */
export type AppEventDefinitions = { readonly [type: string]: AppEventDefinition };

/** Keeps the literal names and flags of `events` for the compiler (the identity at run time). */
export function defineEvents<const Events extends AppEventDefinitions>(events: Events): Events {
  return events;
}

/**
 * Where an app registers its events for the compiler (module augmentation of
 * `agent-realtime/shared`): `interface Register { events: typeof events }`. Empty: built-ins only.
 */
export interface Register {}

/** The events the app registered, or none. */
export type RegisteredEvents = Register extends { events: infer Events extends AppEventDefinitions } ? Events : {};

/** The app's event type names. */
export type AppEventType = Extract<keyof RegisteredEvents, string>;

/** App event types that room members may publish with `rooms.publish`. */
export type ClientPublishableEventType = {
  [K in AppEventType]: RegisteredEvents[K] extends { clientPublishable: true } ? K : never;
}[AppEventType];

/** The payload of an app event type, as handlers receive it (the schema's output). */
export type AppEventData<K extends AppEventType> = z.output<RegisteredEvents[K]['schema']>;
/** What a publisher passes for an app event type (the schema's input). */
export type AppEventDataInput<K extends AppEventType> = z.input<RegisteredEvents[K]['schema']>;
