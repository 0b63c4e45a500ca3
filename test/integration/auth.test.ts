import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const forge = (claims: Record<string, unknown>, secret: string, expiresIn: string | number = '1h') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));

describe('auth over HTTP', () => {
  it('answers UNAUTHORIZED without a token, with a forged one and with an expired one', async () => {
    await expect(t.http(undefined).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const forged = await forge({ role: 'admin' }, 'not-the-server-secret-at-all');
    await expect(t.http(forged).admin.stats.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' }, message: 'Invalid token' });
    const expired = await t.token('alice', 'user', Math.floor(Date.now() / 1000) - 10);
    await expect(t.http(expired).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' }, message: 'Token expired' });
    await expect(t.http('not.a.jwt').presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('rejects a token whose role is not one we know', async () => {
    const unknownRole = await forge({ role: 'superuser' }, 'test-secret-0123456789abcdef');
    await expect(t.http(unknownRole).presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('keeps admin procedures FORBIDDEN to users and open to admins', async () => {
    const user = t.http(await t.token('alice'));
    await expect(user.admin.stats.query()).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await expect(user.admin.send.mutate({ userId: 'bob', type: 'notification.new', data: { title: 't', message: 'm' } })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    const admin = t.http(await t.token('root', 'admin'));
    await expect(admin.admin.stats.query()).resolves.toMatchObject({ totalEvents: expect.any(Number) });
  });
});

describe('auth over WebSocket', () => {
  it('answers UNAUTHORIZED to calls and subscriptions on a connection with a bad token, without closing it', async () => {
    const client = t.connect('garbage');
    await expect(client.api.presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const error = await new Promise<unknown>((resolve) => {
      client.api.onEvent.subscribe(undefined, { onError: resolve, onData: () => resolve(new Error('data without auth')) });
    });
    expect(error).toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    // Same connection, still usable for the answer: no reconnect loop.
    await expect(client.api.presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    client.close();
  });

  it('takes the user id from the token, never from input', async () => {
    const client = t.connect(await t.token('alice'));
    await client.api.presence.update.mutate({ status: 'busy' });
    const presence = await client.api.presence.get.query({ userId: 'alice' });
    expect(presence.status).toBe('busy');
    client.close();
  });

  it('refuses admin streams and other users’ governance to a user', async () => {
    const client = t.connect(await t.token('alice'));
    const error = await new Promise<unknown>((resolve) => {
      client.api.onEvent.subscribe({ scope: 'all' }, { onError: resolve, onData: () => resolve(new Error('got data')) });
    });
    expect(error).toMatchObject({ data: { code: 'FORBIDDEN' } });
    client.close();
  });
});
