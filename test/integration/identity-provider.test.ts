/**
 * Issue 16 (and 13): tokens from an identity provider, RS256 and ES256 checked against its JWKS,
 * served here by the test itself on port 0, with key rotation; issuer, audience and the role
 * claim; `exp` required and a maximum token lifetime, for the service's own HS256 tokens too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../server/api/auth.js';
import { startServer, testSecret, type TestServer } from '../support/server.js';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg: SigningKey['alg']): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const issuer = 'https://id.example.test/';
const audience = 'agent-realtime';

function providerToken(key: SigningKey, claims: Record<string, unknown> = {}, options: { issuer?: string; audience?: string; subject?: string; expiresIn?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? audience)
    .setSubject(options.subject ?? 'idp-user')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(key.privateKey);
}

/** The provider's JWKS endpoint: serves whatever keys are published now, and counts fetches. */
let jwksServer: Server;
let jwksUrl: string;
let published: SigningKey[] = [];
let fetches = 0;
beforeAll(async () => {
  jwksServer = createServer((_request, response) => {
    fetches++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  jwksServer.closeAllConnections();
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
});

const unauthorized = (message?: string) => ({ code: 'UNAUTHORIZED', ...(message !== undefined && { message: expect.stringContaining(message) }) });

describe('identity-provider tokens (JWKS)', () => {
  it('accepts RS256 and ES256, follows a key rotation, and refuses a removed key', async () => {
    const first = await signingKey('key-1', 'RS256');
    const second = await signingKey('key-2', 'ES256');
    published = [first];
    fetches = 0;
    const tokens = new TokenService({ jwksUrl, issuer, audience, jwksCooldownMs: 0 });
    await expect(tokens.verify(await providerToken(first))).resolves.toMatchObject({ userId: 'idp-user', role: 'user' });
    await tokens.verify(await providerToken(first));
    expect(fetches).toBe(1); // cached

    // Rotation: key-2 appears and key-1 is withdrawn.
    published = [second];
    await expect(tokens.verify(await providerToken(second, { rooms: ['project:*'] }))).resolves.toMatchObject({ rooms: ['project:*'] });
    expect(fetches).toBe(2); // an unknown kid fetched the set again
    await expect(tokens.verify(await providerToken(first))).rejects.toMatchObject(unauthorized('Invalid token'));
  });

  it('checks issuer and audience, and reads the role where the provider puts it', async () => {
    const key = await signingKey('key-roles', 'RS256');
    published = [key];
    const nested = new TokenService({ jwksUrl, issuer, audience, roleClaim: 'realm_access.roles', jwksCooldownMs: 0 });
    await expect(nested.verify(await providerToken(key, { realm_access: { roles: ['offline_access', 'admin'] } }))).resolves.toMatchObject({ role: 'admin' });
    await expect(nested.verify(await providerToken(key, { realm_access: { roles: ['editor'] } }))).resolves.toMatchObject({ role: 'user' });
    const namespaced = new TokenService({ jwksUrl, issuer, audience, roleClaim: 'https://app.example.test/role', jwksCooldownMs: 0 });
    await expect(namespaced.verify(await providerToken(key, { 'https://app.example.test/role': 'service' }))).resolves.toMatchObject({ role: 'service' });
    // A provider's token cannot make itself admin through a claim the service does not read.
    await expect(namespaced.verify(await providerToken(key, { role: 'admin' }))).resolves.toMatchObject({ role: 'user' });

    await expect(nested.verify(await providerToken(key, {}, { issuer: 'https://evil.example.test/' }))).rejects.toMatchObject(unauthorized('iss'));
    await expect(nested.verify(await providerToken(key, {}, { audience: 'another-app' }))).rejects.toMatchObject(unauthorized('aud'));
  });

  it('accepts the service’s own HS256 tokens alongside, and only the algorithms configured', async () => {
    const key = await signingKey('key-both', 'ES256');
    published = [key];
    const both = new TokenService({ secret: testSecret, jwksUrl, issuer, audience, jwksCooldownMs: 0 });
    await expect(both.verify(await both.sign('own', 'admin', '1h'))).resolves.toMatchObject({ userId: 'own', role: 'admin' });
    await expect(both.verify(await providerToken(key))).resolves.toMatchObject({ userId: 'idp-user' });
    const secretOnly = new TokenService(testSecret);
    await expect(secretOnly.verify(await providerToken(key))).rejects.toMatchObject(unauthorized('ES256 is not accepted'));
    const providerOnly = new TokenService({ jwksUrl, issuer, audience });
    await expect(providerOnly.verify(await both.sign('own', 'admin', '1h'))).rejects.toMatchObject(unauthorized('HS256 is not accepted'));
  });

  it('serves a real server: a provider token connects, with its role and rooms', async () => {
    const key = await signingKey('key-server', 'RS256');
    published = [key];
    const t: TestServer = await startServer({ authJwksUrl: jwksUrl, authIssuer: issuer, authAudience: audience, authRoleClaim: 'roles' });
    try {
      const user = t.connect(await providerToken(key, { rooms: ['idp:*'] }, { subject: 'pat' }));
      await expect(user.api.rooms.join.mutate({ roomId: 'idp:1' })).resolves.toMatchObject({ members: ['pat'] });
      await expect(user.api.rooms.join.mutate({ roomId: 'elsewhere' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
      const admin = t.http(await providerToken(key, { roles: ['admin'] }, { subject: 'ops' }));
      await expect(admin.admin.stats.query()).resolves.toMatchObject({ activeUsers: 1 });
      await expect(t.http(await providerToken(key, {}, { audience: 'nope' })).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
      user.close();
    } finally {
      await t.stop();
    }
  });
});

describe('token lifetime', () => {
  const secret = new TextEncoder().encode(testSecret);
  const own = (claims: Record<string, unknown>) => new SignJWT({ role: 'user', ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject('lifetime').sign(secret);
  const now = () => Math.floor(Date.now() / 1000);
  const day = 86_400;

  it('requires exp', async () => {
    const tokens = new TokenService(testSecret);
    await expect(tokens.verify(await own({ iat: now() }))).rejects.toMatchObject(unauthorized('no exp'));
  });

  it('refuses a token that lives longer than the maximum (30 days by default), measured from iat or else from now', async () => {
    const tokens = new TokenService(testSecret);
    await expect(tokens.verify(await own({ iat: now(), exp: now() + 31 * day }))).rejects.toMatchObject(unauthorized('lifetime exceeds'));
    await expect(tokens.verify(await own({ exp: now() + 31 * day }))).rejects.toMatchObject(unauthorized('lifetime exceeds'));
    await expect(tokens.verify(await own({ iat: now(), exp: now() + 29 * day }))).resolves.toMatchObject({ userId: 'lifetime' });
    // The development tokens the server prints (7 days) pass.
    await expect(tokens.verify(await tokens.sign('alice', 'user', '7d', { rooms: ['*'] }))).resolves.toMatchObject({ rooms: ['*'] });
    const strict = new TokenService({ secret: testSecret, maxLifetimeSeconds: 3_600 });
    await expect(strict.verify(await strict.sign('alice', 'user', '2h'))).rejects.toMatchObject(unauthorized('lifetime exceeds'));
  });

  it('is refused over the API as UNAUTHORIZED', async () => {
    const t = await startServer({ authMaxTokenLifetimeSeconds: 3_600 });
    try {
      await expect(t.http(await own({ iat: now() })).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' }, message: expect.stringContaining('no exp') });
      await expect(t.http(await t.token('alice', 'user', '2h')).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
      await expect(t.http(await t.token('alice', 'user', '1h')).presence.online.query()).resolves.toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
