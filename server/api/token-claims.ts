/**
 * From a verified JWT payload to the user the service sees. Our own HS256 tokens carry `role`
 * and are strict about it; an identity provider's tokens carry the role wherever the provider
 * puts it (`AUTH_ROLE_CLAIM`), often a namespaced URL or a nested list (Keycloak's
 * `realm_access.roles`), and anything that is not one of our roles is a plain user.
 */
import { z } from 'zod';
import { idSchema } from '../../shared/ids.js';
import { limits } from '../../shared/limits.js';
import { RealtimeError } from '../core/errors.js';

export const roles = ['user', 'admin', 'service'] as const;
export type Role = (typeof roles)[number];

export interface AuthUser {
  userId: string;
  role: Role;
  /** Seconds since the epoch, from `exp` (every accepted token has one). */
  expiresAt?: number;
  /** The `rooms` claim: room ids and `prefix*` patterns this user may enter (admins and services reach every room). */
  rooms?: readonly string[];
}

const roomPattern = z.string().min(1).max(limits.maxIdLength);
/** A list, or (as some providers can only emit strings) one comma- or space-separated string. */
const roomsClaim = z.union([
  z.array(roomPattern).max(limits.maxListLength),
  z
    .string()
    .max(limits.maxListLength * limits.maxIdLength)
    .transform((value) => value.split(/[\s,]+/).filter((pattern) => pattern.length > 0)),
]);

const baseClaims = z.object({
  // The user id: the one id rule (shared/ids.ts), so no token can name a user no input could.
  sub: idSchema,
  exp: z.number(),
  iat: z.number().optional(),
  rooms: roomsClaim.optional(),
});
const ownClaims = baseClaims.extend({ role: z.enum(roles).default('user') });

export type TokenSource = 'secret' | 'identity-provider';

export interface ClaimsOptions {
  /** Where an identity provider's token keeps the role: a claim name, or a dotted path. @default 'role' */
  roleClaim: string;
  /** Longest accepted `exp - iat` (or `exp - now` without `iat`), in seconds. */
  maxLifetimeSeconds: number;
}

/** Throws RealtimeError UNAUTHORIZED when the claims are unusable. */
export function userFromClaims(payload: unknown, source: TokenSource, options: ClaimsOptions): AuthUser {
  const parsed = (source === 'secret' ? ownClaims : baseClaims).safeParse(payload);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '?')))].join(', ');
    throw new RealtimeError('UNAUTHORIZED', `Token claims are invalid (${fields})`);
  }
  const claims: z.infer<typeof baseClaims> & { role?: Role } = parsed.data;
  const issuedAt = claims.iat ?? Math.floor(Date.now() / 1000);
  if (claims.exp - issuedAt > options.maxLifetimeSeconds) {
    throw new RealtimeError('UNAUTHORIZED', `Token lifetime exceeds the maximum of ${options.maxLifetimeSeconds} s (AUTH_MAX_TOKEN_LIFETIME)`);
  }
  const role = source === 'secret' && claims.role !== undefined ? claims.role : roleAt(payload, options.roleClaim);
  return { userId: claims.sub, role, expiresAt: claims.exp, ...(claims.rooms && { rooms: claims.rooms }) };
}

/** The most privileged of our roles found at `path` (a string or a list of strings); otherwise `user`. */
function roleAt(payload: unknown, path: string): Role {
  const value = claimAt(payload, path);
  const named = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
  if (named.includes('admin')) return 'admin';
  if (named.includes('service')) return 'service';
  return 'user';
}

/** An exact claim name first (namespaced claims are URLs full of dots), then a dotted path. */
function claimAt(payload: unknown, path: string): unknown {
  if (typeof payload !== 'object' || payload === null) return undefined;
  if (path in payload) return (payload as Record<string, unknown>)[path];
  let current: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || !(part in current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
