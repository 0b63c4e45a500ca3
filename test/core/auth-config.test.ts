/** The environment variables of issue 16: OPEN_ROOMS, the identity provider and the token lifetime. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';

describe('auth and room configuration', () => {
  it('has safe defaults: no open rooms, 30 days at most, role in `role`, no identity provider', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ openRooms: [], authMaxTokenLifetimeSeconds: 30 * 86_400, authRoleClaim: 'role' });
    expect(config.authJwksUrl).toBeUndefined();
  });

  it('reads OPEN_ROOMS patterns, lifetimes with units, and the identity provider', () => {
    const config = loadConfig({
      OPEN_ROOMS: 'lobby:*, help',
      AUTH_MAX_TOKEN_LIFETIME: '12h',
      AUTH_JWKS_URL: 'https://id.example.test/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example.test/',
      AUTH_AUDIENCE: 'realtime',
      AUTH_ROLE_CLAIM: 'realm_access.roles',
    });
    expect(config).toMatchObject({
      openRooms: ['lobby:*', 'help'],
      authMaxTokenLifetimeSeconds: 43_200,
      authJwksUrl: 'https://id.example.test/.well-known/jwks.json',
      authIssuer: 'https://id.example.test/',
      authAudience: 'realtime',
      authRoleClaim: 'realm_access.roles',
    });
    expect(loadConfig({ AUTH_MAX_TOKEN_LIFETIME: '3600' }).authMaxTokenLifetimeSeconds).toBe(3_600);
  });

  it('refuses a lifetime it cannot read and a JWKS URL that is not a URL', () => {
    expect(() => loadConfig({ AUTH_MAX_TOKEN_LIFETIME: '12 weeks' })).toThrow(/AUTH_MAX_TOKEN_LIFETIME/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'not a url' })).toThrow(/AUTH_JWKS_URL/);
  });
});
