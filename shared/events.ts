/**
 * The event catalog: every event type the service carries, the zod schema of its data, and the
 * envelope every event travels in. Server and client import the same definitions, so a payload
 * the server accepts is exactly the type a client handler receives.
 *
 * Schemas are strict: an unknown key is rejected rather than silently dropped, and every string
 * and array is bounded, because these payloads arrive from the network.
 */
import { z } from 'zod';
import { presenceStatusSchema } from './presence.js';
import { limits } from './limits.js';
import { jsonValueSchema, serializedJsonBytes } from './json.js';
import { idSchema } from './ids.js';
import { roomMembershipSchema } from './room-membership.js';
import type { AppEventData, AppEventDataInput, AppEventType, ClientPublishableEventType } from './app-events.js';

/** Ids in payloads follow the one id rule (shared/ids.ts). */
const identifier = idSchema;
const shortText = z.string().max(limits.maxShortTextLength);
const longText = z.string().max(limits.maxTextLength);
/** Free-form JSON a producer attaches (metadata, results, details); its size is bounded by the frame size. */
const jsonValue = jsonValueSchema;
const metadata = z.record(z.string().max(limits.maxIdLength), jsonValue);

/**
 * Presence metadata: at most `limits.maxListLength` keys and `limits.maxPresenceMetadataBytes`
 * serialized. Every presence update is stored and sent to each room the user is in, so its size
 * is multiplied (issue 13: 58 kB of metadata in 100 rooms grew Redis by 6.4 MB per call).
 */
export const presenceMetadataSchema = metadata
  .refine((value) => Object.keys(value).length <= limits.maxListLength, `At most ${limits.maxListLength} keys`)
  .refine((value) => serializedJsonBytes(value) <= limits.maxPresenceMetadataBytes, {
    message: `Presence metadata is at most ${limits.maxPresenceMetadataBytes} bytes as JSON`,
  });

/** The events a room batches into `room.membership` (shared/room-membership.ts). */
const membershipSchemas = {
  'user.presence': z.strictObject({
    userId: identifier,
    status: presenceStatusSchema,
    metadata: presenceMetadataSchema.optional(),
    lastSeen: z.coerce.date(),
  }),
  'user.idle': z.strictObject({ userId: identifier, idleSince: z.coerce.date() }),
  'room.joined': z.strictObject({ roomId: identifier, userId: identifier }),
  'room.left': z.strictObject({
    roomId: identifier,
    userId: identifier,
    reason: z.enum(['left', 'disconnected', 'unsubscribed']).optional(),
  }),
};

/** The data schema of every event type, keyed by the type's wire name. */
export const eventSchemas = {
  // connection
  connected: z.strictObject({ userId: identifier, connectionId: identifier, connections: z.number().int().min(0) }),
  disconnected: z.strictObject({
    userId: identifier,
    connectionId: identifier,
    connections: z.number().int().min(0),
    reason: shortText.optional(),
  }),
  ping: z.strictObject({ nonce: identifier.optional() }),
  pong: z.strictObject({ nonce: identifier.optional() }),

  // agent
  /** `roomId`: the run belongs to that room, whose members then see its events (onRoom, onAgent({ roomId })). */
  'agent.started': z.strictObject({ agentId: identifier, task: longText.optional(), metadata: metadata.optional(), roomId: identifier.optional() }),
  'agent.thinking': z.strictObject({ agentId: identifier, step: shortText.optional(), thought: longText.optional() }),
  'agent.progress': z.strictObject({
    agentId: identifier,
    progress: z.number().min(0).max(100),
    step: shortText.optional(),
    message: longText.optional(),
    /** The producer restarts its count (a retry, a new phase): progress may go below the last value. */
    reset: z.boolean().optional(),
  }),
  'agent.complete': z.strictObject({ agentId: identifier, result: jsonValue.optional() }),
  'agent.error': z.strictObject({
    agentId: identifier,
    error: longText,
    code: shortText.optional(),
    retryable: z.boolean().optional(),
  }),
  'agent.cancelled': z.strictObject({
    agentId: identifier,
    reason: shortText.optional(),
    cancelledBy: identifier.optional(),
  }),
  /**
   * A run's text grows by `delta`; `offset` is the text's length before it (UTF-16 code units),
   * set by the server. A catch-up after a gap is one such event carrying everything missed.
   */
  'agent.output': z.strictObject({
    agentId: identifier,
    delta: z.string().max(limits.maxOutputDeltaLength),
    offset: z.number().int().min(0),
  }),

  // governance
  'governance.required': z.strictObject({
    actionId: identifier,
    action: shortText.min(1),
    description: longText.optional(),
    agentId: identifier.optional(),
    approvers: z.array(identifier).max(limits.maxApprovers).optional(),
    /** How many of the approvers must approve. @default 1 */
    quorum: z.number().int().min(1).max(limits.maxApprovers).optional(),
    expiresAt: z.coerce.date().optional(),
    details: jsonValue.optional(),
  }),
  /** An approval short of the quorum: who has approved so far, and how many are needed. */
  'governance.pending': z.strictObject({
    actionId: identifier,
    action: shortText.min(1),
    approvers: z.array(identifier).max(limits.maxApprovers).optional(),
    expiresAt: z.coerce.date().optional(),
    approvals: z.array(identifier).max(limits.maxApprovers).optional(),
    quorum: z.number().int().min(1).max(limits.maxApprovers).optional(),
  }),
  'governance.approved': z.strictObject({
    actionId: identifier,
    decidedBy: identifier,
    reason: shortText.optional(),
    /** Everyone whose approval counted, in order; `decidedBy` is the last. */
    approvedBy: z.array(identifier).max(limits.maxApprovers).optional(),
  }),
  'governance.rejected': z.strictObject({
    actionId: identifier,
    decidedBy: identifier,
    reason: shortText.optional(),
  }),
  'governance.expired': z.strictObject({ actionId: identifier, expiredAt: z.coerce.date().optional() }),

  // sphere
  'sphere.updated': z.strictObject({
    sphereId: identifier.optional(),
    changed: z.array(shortText).max(limits.maxListLength),
  }),
  'sphere.member_joined': z.strictObject({ sphereId: identifier, userId: identifier }),
  'sphere.member_left': z.strictObject({ sphereId: identifier, userId: identifier }),

  // user
  'user.presence': membershipSchemas['user.presence'],
  'user.typing': z.strictObject({ userId: identifier, roomId: identifier, isTyping: z.boolean() }),
  'user.idle': membershipSchemas['user.idle'],

  // notification
  'notification.new': z.strictObject({
    title: shortText.min(1),
    message: longText,
    level: z.enum(['info', 'success', 'warning', 'error']).optional(),
    link: shortText.optional(),
  }),
  /**
   * `notificationId` is the event id of the `notification.new` that was read; with `all: true`
   * (notifications.markAllRead) every notification of the user is read, and `notificationId` is `all`.
   */
  'notification.read': z.strictObject({ notificationId: identifier, all: z.literal(true).optional() }),

  // system
  'system.maintenance': z.strictObject({
    message: longText.min(1),
    startsAt: z.coerce.date().optional(),
    durationMinutes: z.number().int().min(0).max(7 * 24 * 60).optional(),
  }),

  // room
  'room.joined': membershipSchemas['room.joined'],
  'room.left': membershipSchemas['room.left'],
  /** A room's membership changes of one window, listed or (large rooms) summed up: shared/room-membership.ts. */
  'room.membership': roomMembershipSchema(membershipSchemas),

  // collaboration: members publish these with rooms.publish; ephemeral (see ephemeralEventTypes)
  /** Where a member's pointer is, in the app's own coordinates; `target` names what it is over (a cell, a block). */
  'cursor.moved': z.strictObject({
    x: z.number().finite(),
    y: z.number().finite(),
    target: identifier.optional(),
  }),
  /** What a member has selected in `target`: offsets (or indices) from `start` to `end`. */
  'selection.changed': z.strictObject({
    target: identifier,
    start: z.number().int().min(0),
    end: z.number().int().min(0),
  }),

  // stream
  /**
   * Sent first on a resumed subscription when events after `lastEventId` can no longer be
   * replayed (history evicted, or the service restarted). The events that follow are the ones
   * still held; a client should refetch its state instead of trusting the gap.
   */
  'stream.gap': z.strictObject({
    lastEventId: z.string().max(limits.maxResumeIdLength),
    reason: z.enum(['history_evicted', 'service_restarted', 'unknown_event_id']),
  }),
} as const;

/** The types of the built-in catalog. */
export type BuiltInEventType = keyof typeof eventSchemas;
/** Every event type: the built-in catalog and the app's own (see app-events.ts). */
export type EventType = BuiltInEventType | AppEventType;
export type EventDataMap = {
  [K in EventType]: K extends BuiltInEventType ? z.infer<(typeof eventSchemas)[K]> : K extends AppEventType ? AppEventData<K> : never;
};
/** What a producer passes as data (dates may still be strings before validation). */
export type EventDataInput<T extends EventType> = T extends BuiltInEventType
  ? z.input<(typeof eventSchemas)[T]>
  : T extends AppEventType
    ? AppEventDataInput<T>
    : never;

/** The built-in types (the app's own are known to the server's catalog, server/core/event-catalog.ts). */
export const eventTypes = Object.keys(eventSchemas) as BuiltInEventType[];
export const eventTypeSchema = z.enum(eventTypes as [BuiltInEventType, ...BuiltInEventType[]]);

/** `{ type: K; data: what a publisher passes for K }`, one member per K of `Types`: checking `type` narrows `data`. */
export type EventPublication<Types extends EventType = EventType> = { [K in Types]: { type: K; data: EventDataInput<K> } }[Types];

/** The envelope every event travels in. A union over types, so `event.type` narrows `event.data`. */
export type RealtimeEvent<T extends EventType = EventType> = {
  [K in T]: {
    /** Monotonic id `<epoch>-<sequence>`; pass it back as `lastEventId` to resume. */
    id: string;
    type: K;
    data: EventDataMap[K];
    timestamp: Date;
    roomId?: string;
    userId?: string;
    senderId?: string;
  };
}[T];

export type EventCategory =
  | 'connection'
  | 'agent'
  | 'governance'
  | 'sphere'
  | 'user'
  | 'notification'
  | 'system'
  | 'room'
  | 'cursor'
  | 'selection'
  | 'stream';

export function eventCategory(type: BuiltInEventType): EventCategory {
  const dot = type.indexOf('.');
  if (dot === -1) return 'connection';
  return type.slice(0, dot) as EventCategory;
}

export type AgentEventType = Extract<BuiltInEventType, `agent.${string}`>;
export type GovernanceEventType = Extract<BuiltInEventType, `governance.${string}`>;
export const agentEventTypes = eventTypes.filter((t): t is AgentEventType => t.startsWith('agent.'));
export const governanceEventTypes = eventTypes.filter((t): t is GovernanceEventType => t.startsWith('governance.'));

/**
 * Types only the service itself emits (presence, typing, membership, connection churn, gaps):
 * accepting them from a publisher would let it forge another user's presence.
 */
export const serverOwnedEventTypes: ReadonlySet<string> = new Set<ServerOwnedEventType>([
  'connected',
  'disconnected',
  'user.presence',
  'user.typing',
  'user.idle',
  'room.joined',
  'room.left',
  'room.membership',
  'stream.gap',
]);
export type ServerOwnedEventType =
  | 'connected'
  | 'disconnected'
  | 'user.presence'
  | 'user.typing'
  | 'user.idle'
  | 'room.joined'
  | 'room.left'
  | 'room.membership'
  | 'stream.gap';
/** What admins and services may publish: every app type, and the built-ins the service does not own. */
export type PublishableEventType = Exclude<EventType, ServerOwnedEventType>;
export const publishableEventTypes = eventTypes.filter((t) => !serverOwnedEventTypes.has(t));
export const publishableEventTypeSchema = z.enum(publishableEventTypes as [BuiltInEventType, ...BuiltInEventType[]]);

/** The built-in collaboration types: room members publish them with `rooms.publish` (`senderId` is the caller). */
export type CollaborationEventType = 'cursor.moved' | 'selection.changed';
export const collaborationEventTypes: ReadonlySet<string> = new Set<CollaborationEventType>(['cursor.moved', 'selection.changed']);
/** What `rooms.publish` accepts: the collaboration types and the app's clientPublishable types. */
export type RoomPublishableEventType = CollaborationEventType | ClientPublishableEventType;

/**
 * Built-in types delivered live only: never stored in any history nor replayed, and coalesced
 * per sender (at most `EPHEMERAL_HZ` deliveries a second, the latest last). A cursor position
 * is worth nothing once the next one exists; storing 60 a second per member filled history.
 */
export const ephemeralEventTypes: ReadonlySet<string> = new Set<CollaborationEventType>(['cursor.moved', 'selection.changed']);

/**
 * Workflow events (agent.*, governance.*) describe the state of a run or an approval, which the
 * service folds and enforces (lifecycle, decided once). Published by hand through `admin.send` or
 * `admin.broadcast` they would forge that state, so they go only through their procedures.
 */
export function workflowProcedureOf(type: string): string | undefined {
  if (type.startsWith('agent.')) return 'agents.emit (or agents.cancel)';
  if (type.startsWith('governance.')) return 'governance.request, governance.approve or governance.reject';
  return undefined;
}

/** What an operator may publish by hand (`admin.send`, `admin.broadcast`, the dashboard's form). */
export const operatorPublishableEventTypes = publishableEventTypes.filter((type) => workflowProcedureOf(type) === undefined);

/** Validates `data` against the schema of `type`; throws the zod error on failure. */
export function parseEventData<T extends BuiltInEventType>(type: T, data: unknown): EventDataMap[T] {
  return eventSchemas[type].parse(data) as EventDataMap[T];
}

export function safeParseEventData<T extends BuiltInEventType>(type: T, data: unknown) {
  return eventSchemas[type].safeParse(data);
}
