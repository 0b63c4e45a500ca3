/** The server package entry: embed the service, or publish into it from backend code. */
export { createRealtimeServer } from './http/server.js';
export type { RealtimeServer, RealtimeServerOptions } from './http/server.js';
export { loadConfig, defaultConfig } from './config.js';
export type { ServerConfig } from './config.js';
export { createRealtimeServices } from './core/service.js';
export type { RealtimeServices, RealtimeServicesOptions } from './core/service.js';
export { RealtimeCore } from './core/realtime-core.js';
export type { SubscribeOptions, Subscription, HistoryQuery } from './core/realtime-core.js';
export type { CoreConnection } from './core/connection.js';
export { RealtimeError } from './core/errors.js';
export type { AgentRunState, AgentStatus, AgentEventData } from './core/agents.js';
export type { GovernanceAction, GovernanceStatus, ApprovalRequest } from './core/governance.js';
export { MemoryBus } from './bus/memory-bus.js';
export type { EventBus, BusEvent, PublishRequest, HistoryRead } from './bus/bus.js';
export { TokenService } from './api/auth.js';
export type { AuthUser, Role } from './api/auth.js';
export { appRouter } from './api/router.js';
export type { AppRouter } from './api/router.js';
