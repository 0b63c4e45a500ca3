/** Turns a zod failure on event data into the service's BAD_REQUEST, keeping the issues as its cause. */
import { ZodError } from 'zod';
import { RealtimeError } from './errors.js';

export function toValidationError(type: string, error: unknown): RealtimeError {
  if (error instanceof ZodError) {
    const first = error.issues[0];
    const where = first && first.path.length > 0 ? ` at data.${first.path.join('.')}` : '';
    return new RealtimeError('BAD_REQUEST', `Invalid data for ${type}${where}: ${first?.message ?? 'invalid'}`, {
      cause: error,
    });
  }
  return new RealtimeError('BAD_REQUEST', `Invalid data for ${type}`, { cause: error });
}
