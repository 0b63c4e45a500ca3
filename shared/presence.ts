/** Presence statuses a user can be in. `offline` is set by the service when the last connection closes. */
import { z } from 'zod';

export const presenceStatuses = ['online', 'away', 'busy', 'offline'] as const;
export type PresenceStatus = (typeof presenceStatuses)[number];
export const presenceStatusSchema = z.enum(presenceStatuses);

/** The statuses a user may choose; `offline` follows from having no connection. */
export const selectablePresenceStatusSchema = z.enum(['online', 'away', 'busy']);

export interface UserPresence {
  userId: string;
  status: PresenceStatus;
  metadata?: Record<string, unknown>;
  lastSeen: Date;
  connections: number;
  idle: boolean;
}
