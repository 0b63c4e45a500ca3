/**
 * How the core sees a client connection: an id, the user it belongs to, and a way to close it.
 * The transport (WebSocket, SSE, a test's plain object) implements it; the core never learns
 * which one it is.
 */
import type { CloseCode } from '../../shared/codes.js';

export interface CoreConnection {
  readonly id: string;
  readonly userId: string;
  close(code: CloseCode, reason: string): void;
}
