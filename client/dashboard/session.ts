/**
 * The operator's token: kept in sessionStorage (it lives as long as the tab and is never shared
 * with other tabs or written to disk by us), and its claims decoded for display.
 *
 * Decoding does not verify anything: the service verifies the signature on connect. The page
 * decodes only to greet the operator and to refuse, before connecting, a token that is not a
 * JWT or has already expired.
 */
const storageKey = 'realtime-dashboard.token';

export interface TokenClaims {
  userId: string;
  role: string;
  expiresAt?: Date;
}

export function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(storageKey);
  } catch {
    // Storage can be disabled (privacy settings); the operator then signs in on every load.
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    sessionStorage.setItem(storageKey, token);
  } catch {
    // See readStoredToken: without storage the token lives in memory only.
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(storageKey);
  } catch {
    // Nothing stored, nothing to forget.
  }
}

/** The claims of a JWT, or an explanation of why the text is not a usable one. */
export function decodeClaims(token: string): { claims: TokenClaims } | { problem: string } {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return { problem: 'This is not a JWT (expected three dot-separated parts).' };
  let payload: unknown;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (character) => character.charCodeAt(0)));
    payload = JSON.parse(json);
  } catch {
    return { problem: 'The token payload is not readable JSON.' };
  }
  const { sub, role, exp } = (payload ?? {}) as { sub?: unknown; role?: unknown; exp?: unknown };
  if (typeof sub !== 'string' || sub === '') return { problem: 'The token has no subject (sub claim).' };
  const expiresAt = typeof exp === 'number' ? new Date(exp * 1000) : undefined;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    return { problem: `The token expired at ${expiresAt.toLocaleString()}.` };
  }
  return { claims: { userId: sub, role: typeof role === 'string' ? role : 'user', ...(expiresAt && { expiresAt }) } };
}
