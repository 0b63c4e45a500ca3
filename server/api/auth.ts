/**
 * Tokens (jose). Two issuers may be trusted at once: this service's own HS256 tokens, signed
 * with AUTH_SECRET, and an identity provider's RS256/ES256 tokens, checked against its JWKS
 * (`AUTH_JWKS_URL`, with `AUTH_ISSUER` and `AUTH_AUDIENCE`). The header's `alg` says which.
 * Every token must carry `exp`, and none may live longer than the configured maximum: a token
 * that never expires cannot be taken back.
 */
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { RealtimeError } from '../core/errors.js';
import { userFromClaims, type AuthUser, type ClaimsOptions, type Role, type TokenSource } from './token-claims.js';

export { roles, type AuthUser, type Role } from './token-claims.js';

/** @default 30 days */
export const defaultMaxTokenLifetimeSeconds = 30 * 24 * 60 * 60;
const providerAlgorithms = ['RS256', 'ES256'];

export interface TokenServiceOptions {
  /** HS256 secret of this service's own tokens; without it only identity-provider tokens are accepted and none can be signed. */
  secret?: string;
  /** An identity provider's JSON Web Key Set; its keys are cached and fetched again when a token names an unknown `kid`. */
  jwksUrl?: string;
  /** Required `iss` of identity-provider tokens. */
  issuer?: string;
  /** Required `aud` of identity-provider tokens. */
  audience?: string;
  /** Where identity-provider tokens keep the role (a claim name or a dotted path). @default 'role' */
  roleClaim?: string;
  /** @default 2592000 (30 days) */
  maxLifetimeSeconds?: number;
  /** Least time between two JWKS fetches, however many unknown `kid`s arrive (jose's cooldown). @default 30000 */
  jwksCooldownMs?: number;
  /** Keys older than this are fetched again before use. @default 600000 */
  jwksCacheMaxAgeMs?: number;
}

export interface SignOptions {
  /** The `rooms` claim: room ids and `prefix*` patterns (`['*']` is every room). */
  rooms?: readonly string[];
}

export class TokenService {
  private readonly key: Uint8Array<ArrayBuffer> | undefined;
  /**
   * The secret imported once as a WebCrypto key. Given the raw bytes, jose imports them again on
   * every sign and verify: a CryptoKey, its native handle and a crypto job per connection, garbage
   * that under a connect burst outlives the young generation and leaves old-space pages
   * half-empty (~0.9 KB of promoted garbage per connection at N = 5,000, issue 17).
   */
  private hmacKey: Promise<CryptoKey> | undefined;
  private readonly jwks: JWTVerifyGetKey | undefined;
  private readonly options: TokenServiceOptions;
  private readonly claims: ClaimsOptions;

  constructor(options: string | TokenServiceOptions) {
    this.options = typeof options === 'string' ? { secret: options } : options;
    const { secret, jwksUrl } = this.options;
    if (!secret && !jwksUrl) throw new Error('TokenService needs a secret, a JWKS URL, or both');
    this.key = secret ? new TextEncoder().encode(secret) : undefined;
    this.jwks = jwksUrl
      ? createRemoteJWKSet(new URL(jwksUrl), {
          cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: this.options.jwksCacheMaxAgeMs ?? 600_000,
        })
      : undefined;
    this.claims = {
      roleClaim: this.options.roleClaim ?? 'role',
      maxLifetimeSeconds: this.options.maxLifetimeSeconds ?? defaultMaxTokenLifetimeSeconds,
    };
  }

  /**
   * @param expiresIn a jose duration such as `'1h'` or `'30d'`, or an absolute `exp` in seconds @default '24h'
   * @example tokens.sign('alice', 'user', '7d', { rooms: ['project:*', 'team:7'] })
   */
  async sign(userId: string, role: Role = 'user', expiresIn: string | number = '24h', options: SignOptions = {}): Promise<string> {
    if (!this.key) throw new Error('No AUTH_SECRET: this service signs no tokens');
    const claims = { role, ...(options.rooms && { rooms: [...options.rooms] }) };
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime(expiresIn).sign(await this.secretKey(this.key));
  }

  /** Throws RealtimeError UNAUTHORIZED for a missing, forged, malformed, expired or too long-lived token. */
  async verify(token: string | undefined | null): Promise<AuthUser> {
    if (!token) throw new RealtimeError('UNAUTHORIZED', 'No token');
    let algorithm: string | undefined;
    try {
      algorithm = decodeProtectedHeader(token).alg;
    } catch (error) {
      throw new RealtimeError('UNAUTHORIZED', 'Invalid token', { cause: error });
    }
    let source: TokenSource;
    let payload: unknown;
    try {
      if (algorithm === 'HS256' && this.key) {
        source = 'secret';
        ({ payload } = await jwtVerify(token, await this.secretKey(this.key), { algorithms: ['HS256'], requiredClaims: ['exp'] }));
      } else if (algorithm !== undefined && providerAlgorithms.includes(algorithm) && this.jwks) {
        source = 'identity-provider';
        ({ payload } = await jwtVerify(token, this.jwks, {
          algorithms: providerAlgorithms,
          requiredClaims: ['exp'],
          ...(this.options.issuer !== undefined && { issuer: this.options.issuer }),
          ...(this.options.audience !== undefined && { audience: this.options.audience }),
        }));
      } else {
        throw new RealtimeError('UNAUTHORIZED', `Invalid token (algorithm ${algorithm ?? 'none'} is not accepted here)`);
      }
    } catch (error) {
      throw new RealtimeError('UNAUTHORIZED', reasonOf(error), { cause: error });
    }
    return userFromClaims(payload, source, this.claims);
  }

  /** Usable for both signing and verifying: jose checks the usage it needs, and the algorithm. */
  private secretKey(key: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
    return (this.hmacKey ??= crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof RealtimeError) return error.message;
  if (error instanceof joseErrors.JWTExpired) return 'Token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.claim === 'exp' ? 'Token has no exp: every token must expire' : `Token claim ${error.claim} is not accepted`;
  }
  if (error instanceof joseErrors.JWKSTimeout) return 'Identity provider keys unavailable (JWKS timeout)';
  return 'Invalid token';
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
}
