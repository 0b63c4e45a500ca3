/**
 * Where the client gets its token. A function is called again on every (re)connect and every
 * HTTP request, so a token that was refreshed in the meantime is the one the server sees.
 */

/** A JWT, or a function that returns one (possibly after refreshing it). */
export type TokenSource = string | (() => string | Promise<string>);

export async function resolveToken(source: TokenSource): Promise<string> {
  return typeof source === 'function' ? source() : source;
}

export interface TokenClaims {
  /** The `sub` claim: who the server will take the caller to be. */
  userId: string;
  /** The `role` claim. @default 'user' */
  role: string;
}

/**
 * Reads `sub` and `role` from a JWT without verifying it: the server verifies every token; the
 * client only wants to know who it is (e.g. "my presence"). Undefined for anything unreadable.
 */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown; role?: unknown };
    if (typeof claims.sub !== 'string' || claims.sub === '') return undefined;
    return { userId: claims.sub, role: typeof claims.role === 'string' ? claims.role : 'user' };
  } catch {
    return undefined;
  }
}
