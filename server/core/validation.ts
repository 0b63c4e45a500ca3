/** Turns a zod failure on event data into the service's BAD_REQUEST, keeping the issues as its cause. */
import { ZodError } from 'zod';
import { RealtimeError } from './errors.js';

/** A ZodError, also from another copy of zod (an app's event schemas may come with their own). */
export function isZodError(error: unknown): error is ZodError {
  return error instanceof ZodError || (error instanceof Error && error.name === 'ZodError' && Array.isArray((error as { issues?: unknown }).issues));
}

export function toValidationError(type: string, error: unknown): RealtimeError {
  if (isZodError(error)) {
    const first = error.issues[0];
    const where = first && first.path.length > 0 ? ` at data.${first.path.join('.')}` : '';
    return new RealtimeError('BAD_REQUEST', `Invalid data for ${type}${where}: ${first?.message ?? 'invalid'}`, {
      cause: error,
    });
  }
  return new RealtimeError('BAD_REQUEST', `Invalid data for ${type}`, { cause: error });
}
