/**
 * Tokens: HS256 JWTs signed with AUTH_SECRET (jose). `sub` is the user id, `role` is `user`
 * (default), `admin` or `service` (agent workers), and `exp` is honoured.
 */
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { limits } from '../../shared/limits.js';
import { RealtimeError } from '../core/errors.js';

export const roles = ['user', 'admin', 'service'] as const;
export type Role = (typeof roles)[number];

export interface AuthUser {
  userId: string;
  role: Role;
  /** Seconds since the epoch, from `exp`; undefined when the token never expires. */
  expiresAt?: number;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(limits.maxIdLength),
  role: z.enum(roles).default('user'),
  exp: z.number().optional(),
});

export class TokenService {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** @param expiresIn a jose duration such as `'1h'` or `'30d'` @default '24h' */
  async sign(userId: string, role: Role = 'user', expiresIn: string | number = '24h'): Promise<string> {
    return new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime(expiresIn).sign(this.key);
  }

  /** Throws RealtimeError UNAUTHORIZED for a missing, forged, malformed or expired token. */
  async verify(token: string | undefined | null): Promise<AuthUser> {
    if (!token) throw new RealtimeError('UNAUTHORIZED', 'No token');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (error) {
      const reason = error instanceof joseErrors.JWTExpired ? 'Token expired' : 'Invalid token';
      throw new RealtimeError('UNAUTHORIZED', reason, { cause: error });
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new RealtimeError('UNAUTHORIZED', 'Token claims are invalid (sub, role)');
    return { userId: claims.data.sub, role: claims.data.role, ...(claims.data.exp !== undefined && { expiresAt: claims.data.exp }) };
  }
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}
