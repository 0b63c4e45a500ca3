/** The vanilla client package entry (`agent-realtime/client`). */
export { createRealtimeClient, defaultRetryDelayMs } from './realtime-client.js';
export { failedAfterAttempts } from './connection-state.js';
export type { RealtimeClient, RealtimeClientOptions } from './realtime-client.js';
export type {
  ConnectionState,
  ConnectionSnapshot,
  ConnectionStateChange,
  ConnectionStateListener,
  SubscriptionTransport,
} from './connection-state.js';
export type { TransportChoice } from './transports/transport-setup.js';
export type { EventSourceConstructor, EventSourceLike } from './transports/event-source.js';
export type { WebSocketFallbackOptions } from './transports/websocket-fallback.js';
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
export type {
  EventType,
  RealtimeEvent,
  EventDataMap,
  EventDataInput,
  AgentEventType,
  GovernanceEventType,
  PublishableEventType,
  EventPublication,
} from '../shared/events.js';
export type { AppEventType, ClientPublishableEventType } from '../shared/app-events.js';
export type { PresenceStatus, UserPresence } from '../shared/presence.js';
