/**
 * Issue 6, item 6: a token that expires while connected (the connection is closed with 4001 at
 * `exp`; calls with the stale token are then UNAUTHORIZED), tokens for roles that do not exist,
 * a replayed connectionParams message (the connection keeps its first identity and the replay is
 * answered with an error), and attempts to read someone else's user stream by guessing ids or
 * tampering with inputs.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../shared/codes.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, testSecret, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import { asResponses, connectionParamsMessage, eventOf, officialClient, openPlainSocket } from './support/clients.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const forge = (claims: Record<string, unknown>, options: { secret?: string; algorithm?: string; subject?: string | null } = {}) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.algorithm ?? 'HS256' }).setExpirationTime('1h');
  if (options.subject !== null) jwt.setSubject(options.subject ?? 'mallory');
  return jwt.sign(new TextEncoder().encode(options.secret ?? testSecret));
};
const codeOf = (message: unknown) => (message as { error?: { json?: { data?: { code?: string } } } }).error?.json?.data?.code;

describe('a token that expires while connected', () => {
  it('closes the connection with 4001 at exp, and calls with the stale token are UNAUTHORIZED', async () => {
    const token = await t.token('short-lived', 'user', '2s');
    const expiresAtMs = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    const raw = await openRawSocket(t.wsUrl, token);
    raw.send({ id: 1, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => asResponses(raw.messages).some((message) => message.result?.type === 'started'), 'subscribed');

    const closed = await raw.closed;
    const latenessMs = Date.now() - expiresAtMs;
    console.log(`[reliability] token expiry: closed ${closed.code} '${closed.reason}' ${latenessMs} ms after exp`);
    expect(closed).toEqual({ code: CloseCode.TokenExpired, reason: 'Token expired' });
    // Not before exp (the clock's second granularity aside), and promptly after.
    expect(latenessMs).toBeGreaterThanOrEqual(-20);
    expect(latenessMs).toBeLessThan(1_000);
    expect(t.server.services.core.presenceOf('short-lived').status).toBe('offline');

    // The same token on a new connection is refused, and that connection is not closed for it (no reconnect loop).
    const stale = officialClient(t.wsUrl, token);
    await expect(stale.api.presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' }, message: 'Token expired' });
    await expect(stale.api.presence.online.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await stale.close();
  });

  it('lets a client that refreshes its token resume after the 4001 close without losing events', async () => {
    let token = await t.token('refresher', 'user', '2s');
    let closes = 0;
    const client = officialClient(t.wsUrl, () => token, {
      retryDelayMs: 20,
      onClose: (cause) => {
        if (cause?.code === CloseCode.TokenExpired) closes++;
      },
    });
    const received: string[] = [];
    let started = false;
    client.api.onNotification.subscribe(undefined, {
      onStarted: () => (started = true),
      onData: ({ data: event }) => {
        if (event.type === 'notification.new') received.push(event.data.title);
      },
    });
    await waitFor(() => started, 'subscribed');
    token = await t.token('refresher', 'user', '1h');
    const { core } = t.server.services;
    const titles: string[] = [];
    // Publish across the expiry (about two seconds), a few events at a time.
    for (let index = 0; index < 30 && closes === 0; index++) {
      titles.push(`before-${index}`);
      await core.sendToUser('refresher', 'notification.new', { title: titles.at(-1)!, message: '' });
      await sleep(100);
    }
    await waitFor(() => closes === 1, 'the 4001 close');
    for (let index = 0; index < 5; index++) {
      titles.push(`after-${index}`);
      await core.sendToUser('refresher', 'notification.new', { title: titles.at(-1)!, message: '' });
    }
    await waitFor(() => received.length >= titles.length, 'every event after the refresh', 10_000);
    expect(received).toEqual(titles);
    await client.close();
  });
});

describe('tokens for roles and claims the server does not know', () => {
  it.each([
    ['a role that does not exist (or was removed)', () => forge({ role: 'superuser' })],
    ['a role of the wrong type', () => forge({ role: ['admin'] })],
    ['no subject', () => forge({ role: 'admin' }, { subject: null })],
    ['another algorithm with the same secret', () => forge({ role: 'admin' }, { algorithm: 'HS512' })],
    ['the wrong secret', () => forge({ role: 'admin' }, { secret: 'not-the-secret-0123456789abcdef' })],
  ])('answers UNAUTHORIZED over WebSocket for %s, and never registers the connection', async (_, makeToken) => {
    const client = officialClient(t.wsUrl, await makeToken());
    await expect(client.api.admin.stats.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    const error = await new Promise<unknown>((resolve) => {
      client.api.onEvent.subscribe(undefined, { onError: resolve, onData: () => resolve(new Error('data without a valid token')) });
    });
    expect(error).toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    expect(t.server.services.core.presenceOf('mallory').status).toBe('offline');
    await client.close();
  });
});

describe('a replayed connectionParams message', () => {
  it('cannot switch the identity of a connection, and is answered with an error', async () => {
    const socket = await openPlainSocket(t.wsUrl);
    socket.send(connectionParamsMessage(await t.token('alice')));
    socket.send({ id: 1, method: 'query', params: { path: 'admin.stats', input: { json: undefined } } });
    await waitFor(() => socket.messages.some((message) => message.id === 1), 'first answer');
    // The replay, bare and with an id, carrying an admin's token.
    const adminToken = await t.token('root', 'admin');
    socket.send(connectionParamsMessage(adminToken));
    socket.send({ id: 2, ...connectionParamsMessage(adminToken) });
    socket.send({ id: 3, method: 'query', params: { path: 'admin.stats', input: { json: undefined } } });
    await waitFor(() => socket.messages.some((message) => message.id === 3), 'answers after the replay');
    const replies = socket.messages.map((message) => ({ id: message.id, code: codeOf(message), message: message.error?.json?.message }));
    console.log(`[reliability] connectionParams replay: ${JSON.stringify(replies)}`);
    expect(replies.find((reply) => reply.id === 1)?.code).toBe('FORBIDDEN');
    expect(replies.find((reply) => reply.id === 2)?.code).toBe('BAD_REQUEST');
    expect(replies.filter((reply) => reply.id === null && reply.code === 'BAD_REQUEST')).toHaveLength(1);
    expect(replies.find((reply) => reply.id === 3)?.code).toBe('FORBIDDEN');
    expect(t.server.services.core.presenceOf('root').status).toBe('offline');
    socket.socket.terminate();
  });

  it('answers a first message that is not connectionParams instead of swallowing it', async () => {
    const socket = await openPlainSocket(t.wsUrl);
    socket.send({ id: 1, method: 'query', params: { path: 'presence.online', input: { json: undefined } } });
    await waitFor(() => socket.messages.some((message) => message.id === 1), 'an answer');
    expect(codeOf(socket.messages.find((message) => message.id === 1))).toBe('UNAUTHORIZED');
    socket.socket.terminate();
  });
});

describe("someone else's user stream", () => {
  it('is never delivered, whatever ids a subscriber guesses or extra fields it adds', async () => {
    const { core } = t.server.services;
    const mallory = await openRawSocket(t.wsUrl, await t.token('mallory'));
    const bobEvent = await core.sendToUser('bob', 'notification.new', { title: 'for bob', message: 'secret' });
    // Tampered inputs: another user's id, internal option names, another user's event id to resume from.
    const tampered = [
      { path: 'onEvent', input: { userId: 'bob', channels: ['user:bob'], followRoomsOfUser: true } },
      { path: 'onEvent', input: { scope: 'mine', userId: 'bob', lastEventId: bobEvent.id } },
      { path: 'onNotification', input: { userId: 'bob', lastEventId: bobEvent.id } },
      { path: 'onGovernance', input: { userId: 'bob', channels: ['governance'] } },
      { path: 'onAgent', input: { userId: 'bob', agentId: 'bobs-agent' } },
    ];
    tampered.forEach(({ path, input }, index) => mallory.send({ id: index + 1, method: 'subscription', params: { path, input: { json: input } } }));
    await waitFor(() => tampered.every((_, index) => asResponses(mallory.messages).some((message) => message.id === index + 1)), 'an answer to each');

    // Everything that could leak: a direct send, a governance request, an agent run, each for bob.
    await core.sendToUser('bob', 'notification.new', { title: 'for bob again', message: 'secret' });
    await t.server.services.governance.request({ action: 'deploy', approvers: ['bob'], requesterId: 'bob-service', actionId: 'bobs-action' });
    await t.server.services.emitAgentEvent('bobs-agent', 'agent.started', 'bob', { task: 'secret' });
    // And one for mallory, which must arrive on the streams that carry it: the others came first.
    await core.sendToUser('mallory', 'notification.new', { title: 'for mallory', message: '' });
    await waitFor(() => asResponses(mallory.messages).map(eventOf).some((event) => event?.type === 'notification.new'), "mallory's own event");
    await sleep(50);

    const delivered = asResponses(mallory.messages).map(eventOf).filter((event): event is NonNullable<typeof event> => event !== undefined);
    const foreign = delivered.filter((event) => event.type !== 'stream.gap' && event.userId !== 'mallory' && event.type !== 'connected');
    console.log(`[reliability] guessing ids: ${tampered.length} tampered subscriptions, ${delivered.length} events delivered, ${foreign.length} of them someone else's`);
    expect(foreign as unknown as RealtimeEvent[]).toEqual([]);
    expect(delivered.some((event) => JSON.stringify(event).includes('secret'))).toBe(false);
    mallory.close();
  });
});
