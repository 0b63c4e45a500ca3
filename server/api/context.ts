/**
 * The context every procedure receives. createContext never throws on a bad token: it returns
 * no user and the reason, and the auth middleware answers UNAUTHORIZED, so a client with a bad
 * token gets a clear error instead of a reconnect loop.
 */
import type { RealtimeServices } from '../core/service.js';
import { isRealtimeError } from '../core/errors.js';
import type { AuthUser, TokenService } from './auth.js';
import type { RateLimits } from './rate-limit.js';
import type { RoomAccess } from './room-access.js';
import type { RoomAccessSweep } from './room-access-sweep.js';

export type TransportKind = 'ws' | 'http';

export interface ApiContext {
  services: RealtimeServices;
  user: AuthUser | null;
  /** Why `user` is null, for the UNAUTHORIZED message. */
  authFailure?: string;
  transport: TransportKind;
  /** The WebSocket connection the call arrived on (registered with the core); absent over HTTP. */
  connectionId?: string;
  rateLimits: RateLimits;
  /** Who may do what in a room (server/api/room-access.ts). */
  roomAccess: RoomAccess;
  /** Watches live room streams so that access taken back ends them. */
  roomAccessSweep: RoomAccessSweep;
}

export interface ContextDependencies {
  services: RealtimeServices;
  tokens: TokenService;
  rateLimits: RateLimits;
  roomAccess: RoomAccess;
  roomAccessSweep: RoomAccessSweep;
}

export async function createApiContext(
  dependencies: ContextDependencies,
  request: { token: string | undefined; transport: TransportKind; connectionId?: string },
): Promise<ApiContext> {
  let user: AuthUser | null;
  let authFailure: string | undefined;
  try {
    user = await dependencies.tokens.verify(request.token);
  } catch (error) {
    user = null;
    authFailure = isRealtimeError(error) ? error.message : 'Invalid token';
  }
  // One literal with every field, not spreads: a spread's object keeps its properties out of
  // line (40 bytes more), and a WebSocket connection holds its context for its life (issue 17).
  return {
    services: dependencies.services,
    transport: request.transport,
    rateLimits: dependencies.rateLimits,
    roomAccess: dependencies.roomAccess,
    roomAccessSweep: dependencies.roomAccessSweep,
    connectionId: request.connectionId,
    user,
    authFailure,
  };
}
