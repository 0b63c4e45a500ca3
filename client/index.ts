/** The vanilla client package entry (`agent-realtime/client`). */
export { createRealtimeClient, defaultRetryDelayMs } from './realtime-client.js';
export type { RealtimeClient, RealtimeClientOptions } from './realtime-client.js';
export type { ConnectionState, ConnectionSnapshot, ConnectionStateChange, ConnectionStateListener } from './connection-state.js';
export type {
  RealtimeApi,
  NotificationEventType,
  Unsubscribe,
  StreamHandlers,
  EventStreamOptions,
  AgentStreamOptions,
} from './event-streams.js';
export { readTokenClaims } from './token.js';
export type { PublishResult } from './publishing.js';
export type { TokenSource, TokenClaims } from './token.js';
export { serviceEndpoints } from './urls.js';
export type { ServiceEndpoints } from './urls.js';
export type { RouterInputs, RouterOutputs } from './router-types.js';
export type { EventType, RealtimeEvent, EventDataMap, AgentEventType, GovernanceEventType } from '../shared/events.js';
export type { PresenceStatus, UserPresence } from '../shared/presence.js';
