/**
 * The one error class of the service. Every failure that crosses a module boundary is a
 * RealtimeError with a code from the closed union in shared/codes; the API maps it to a
 * TRPCError of the same code, so clients see the same codes whatever the transport.
 */
import type { ErrorCode } from '../shared/codes.js';

export class RealtimeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RealtimeError';
    this.code = code;
  }
}

export function isRealtimeError(value: unknown): value is RealtimeError {
  return value instanceof RealtimeError;
}
