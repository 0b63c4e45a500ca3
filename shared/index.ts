export {
  eventSchemas,
  eventTypes,
  eventTypeSchema,
  eventCategory,
  agentEventTypes,
  governanceEventTypes,
  serverOwnedEventTypes,
  collaborationEventTypes,
  ephemeralEventTypes,
  publishableEventTypes,
  publishableEventTypeSchema,
  operatorPublishableEventTypes,
  workflowProcedureOf,
  parseEventData,
  safeParseEventData,
} from './events.js';
export { defineEvents } from './app-events.js';
export { expandRoomMembership } from './membership-batches.js';
export { batchedMembershipTypes, maxMembershipChanges } from './room-membership.js';
export type { RoomMembershipMode, BatchedMembershipType } from './room-membership.js';
export type {
  AppEventDefinition,
  AppEventDefinitions,
  AppEventType,
  AppEventData,
  AppEventDataInput,
  ClientPublishableEventType,
  Register,
  RegisteredEvents,
} from './app-events.js';
export type {
  EventType,
  BuiltInEventType,
  PublishableEventType,
  CollaborationEventType,
  RoomPublishableEventType,
  ServerOwnedEventType,
  EventPublication,
  EventDataMap,
  EventDataInput,
  RealtimeEvent,
  EventCategory,
  AgentEventType,
  GovernanceEventType,
} from './events.js';
export { presenceStatuses, presenceStatusSchema, selectablePresenceStatusSchema } from './presence.js';
export type { PresenceStatus, UserPresence } from './presence.js';
export { errorCodes, CloseCode, withRetryHint, retryHintOf } from './codes.js';
export type { ErrorCode } from './codes.js';
export { limits } from './limits.js';
export { idSchema, isWellFormedId, idRuleDescription } from './ids.js';
export { presenceMetadataSchema } from './events.js';
export { formatEventId, parseEventId } from './event-id.js';
export type { ParsedEventId } from './event-id.js';
