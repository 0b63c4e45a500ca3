/**
 * The event catalog of one server: the built-in types (shared/events.ts) and the app's own
 * (`createRealtimeServer({ events })`). The core validates every publish against it; the
 * routers ask it which names exist, which admins may publish, which room members may publish,
 * and which are ephemeral.
 */
import { z } from 'zod';
import type { AppEventDefinition, AppEventDefinitions } from '../../shared/app-events.js';
import {
  collaborationEventTypes,
  ephemeralEventTypes,
  eventCategory,
  eventSchemas,
  eventTypes,
  serverOwnedEventTypes,
  type BuiltInEventType,
  type EventDataMap,
  type EventType,
} from '../../shared/events.js';
import { limits } from '../../shared/limits.js';
import { RealtimeError } from './errors.js';

const builtInNames: ReadonlySet<string> = new Set(eventTypes);
/** Every built-in category with a prefix: `agent.`, `governance.`, `room.`… (filters and workflows key on them). */
const reservedPrefixes = [
  ...new Set(
    eventTypes
      // Not the collaboration ones: no filter or workflow keys on `cursor.`, and apps already
      // named their own pointer events `cursor.at` before the built-ins existed.
      .filter((type) => type.includes('.') && !collaborationEventTypes.has(type))
      .map((type) => `${eventCategory(type)}.`),
  ),
];
/** Dotted lower-case words: `chat.message`, `board.card_moved`. */
const namePattern = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

const isBuiltIn = (type: string): type is BuiltInEventType => builtInNames.has(type);

/** Throws a plain Error naming the first problem with the app's event names (at start, never per request). */
function checkAppEventNames(events: AppEventDefinitions): void {
  for (const [name, definition] of Object.entries(events)) {
    if (isBuiltIn(name)) {
      throw new Error(`App event type "${name}" collides with the built-in event type of that name; choose another name (for example "app.${name}").`);
    }
    const reserved = reservedPrefixes.find((prefix) => name.startsWith(prefix));
    if (reserved) {
      throw new Error(`App event type "${name}" uses the built-in category "${reserved}"; choose a name outside ${reservedPrefixes.join(', ')}.`);
    }
    if (!namePattern.test(name) || name.length > limits.maxIdLength) {
      throw new Error(`App event type "${name}" is not a valid name: dotted lower-case words (a-z, 0-9, _ and -), at most ${limits.maxIdLength} characters.`);
    }
    if (typeof definition?.schema?.safeParse !== 'function') {
      throw new Error(`App event type "${name}" needs a zod schema: { schema: z.object({ ... }) }.`);
    }
  }
}

export class EventCatalog {
  private readonly appEvents: ReadonlyMap<string, AppEventDefinition>;

  /** Throws when an app event's name collides with the built-in catalog or is not a valid name. */
  constructor(appEvents: AppEventDefinitions = {}) {
    checkAppEventNames(appEvents);
    this.appEvents = new Map(Object.entries(appEvents));
  }

  /** The app's own type names, in the order given. */
  get appEventTypes(): readonly string[] {
    return [...this.appEvents.keys()];
  }

  has(type: string): type is EventType {
    return isBuiltIn(type) || this.appEvents.has(type);
  }

  /** What admins and services may publish: every app type, and the built-ins the service does not own. */
  isPublishable(type: string): boolean {
    return this.has(type) && !serverOwnedEventTypes.has(type);
  }

  /** What room members may publish with `rooms.publish`: the collaboration types and app types flagged `clientPublishable`. */
  isClientPublishable(type: string): boolean {
    return collaborationEventTypes.has(type) || this.appEvents.get(type)?.clientPublishable === true;
  }

  /** Delivered live only and coalesced: never stored, replayed nor listed by admin.history. */
  isEphemeral(type: string): boolean {
    return ephemeralEventTypes.has(type) || this.appEvents.get(type)?.ephemeral === true;
  }

  /** Validates `data` against the schema of `type`; throws a ZodError (its issues name what is wrong). */
  parse<T extends EventType>(type: T, data: unknown): EventDataMap[T] {
    if (isBuiltIn(type)) return eventSchemas[type].parse(data) as EventDataMap[T];
    const definition = this.appEvents.get(type);
    if (!definition) throw unknownTypeError(type);
    return definition.schema.parse(data) as EventDataMap[T];
  }

  /** `type`, known (and publishable, if asked); BAD_REQUEST with a zod issue at `path` otherwise. */
  checkType(type: string, path: readonly (string | number)[], options: { publishable?: boolean } = {}): EventType {
    if (this.has(type) && (!options.publishable || this.isPublishable(type))) return type;
    const message = options.publishable && this.has(type) ? `Only the service publishes ${type}` : `Unknown event type: ${type}`;
    throw new RealtimeError('BAD_REQUEST', message, { cause: new z.ZodError([{ code: 'custom', path: [...path], message, input: type }]) });
  }
}

function unknownTypeError(type: string): z.ZodError {
  return new z.ZodError([{ code: 'custom', path: ['type'], message: `Unknown event type: ${type}`, input: type }]);
}
