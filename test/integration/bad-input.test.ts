import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer({ maxPayloadBytes: 64 * 1024 })));
afterAll(async () => t.stop());

describe('bad input', () => {
  it('rejects unknown types and out-of-range data with BAD_REQUEST and the zod issues', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    await expect(admin.admin.send.mutate({ userId: 'a', type: 'nope' as never, data: {} })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', zodIssues: expect.any(Array) },
    });
    await expect(
      admin.admin.send.mutate({ userId: 'a', type: 'system.maintenance', data: { message: 'soon', durationMinutes: -1 } }),
    ).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', zodIssues: [expect.objectContaining({ path: ['durationMinutes'] })] },
      message: expect.stringContaining('data.durationMinutes'),
    });
    // @ts-expect-error server-owned types do not compile either; the service refuses them at run time
    await expect(admin.admin.send.mutate({ userId: 'a', type: 'user.presence', data: {} })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST' },
    });
  });

  it('rejects empty and oversized room ids', async () => {
    const user = t.http(await t.token('alice'));
    await expect(user.rooms.join.mutate({ roomId: '' })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    await expect(user.rooms.join.mutate({ roomId: 'x'.repeat(10_000) })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    await expect(user.rooms.join.mutate({ roomId: 'x'.repeat(100_000) })).rejects.toMatchObject({ data: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('survives garbage and oversized frames on a raw socket while other clients keep receiving', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const bystander = t.connect(await t.token('bystander'));
    const stream = collect(bystander.api.onNotification, undefined);
    await waitFor(() => stream.started, 'bystander subscribed');

    const raw = await openRawSocket(t.wsUrl, await t.token('mallory'));
    for (const frame of ['not json', '{"id":1}', '[[[[[[', '{"id":2,"method":"query","params":{"path":42}}', '{"id":null,"method":"query"}', Buffer.from([0xff, 0x00, 0x13])]) {
      raw.send(frame);
    }
    raw.send({ id: 3, method: 'query', params: { path: 'no.such.procedure', input: { json: null } } });
    raw.send({ id: 4, method: 'mutation', params: { path: 'rooms.join', input: { json: { roomId: 42 } } } });
    await waitFor(() => raw.messages.length >= 8, 'an answer to every frame');
    const codes = raw.messages.map((message) => (message as { error?: { json?: { data?: { code?: string } } } }).error?.json?.data?.code);
    expect(codes.filter((code) => code === 'PARSE_ERROR').length).toBeGreaterThanOrEqual(5);
    expect(codes).toContain('NOT_FOUND');
    expect(codes).toContain('BAD_REQUEST');
    expect(raw.socket.readyState).toBe(raw.socket.OPEN);

    // A call past the per-call limit is refused by its id; the connection goes on.
    raw.send({ id: 5, method: 'mutation', params: { path: 'rooms.join', input: { json: { roomId: 'x'.repeat(100 * 1024) } } } });
    await waitFor(() => raw.messages.length >= 9, 'an answer to the oversized call');
    expect(raw.messages.at(-1)).toMatchObject({ id: 5, error: { json: { data: { code: 'PAYLOAD_TOO_LARGE' } } } });
    expect(raw.socket.readyState).toBe(raw.socket.OPEN);
    // Only a frame past the frame limit (1 MiB by default) closes the socket.
    raw.send('x'.repeat(1024 * 1024 + 1));
    expect((await raw.closed).code).toBe(1009);

    await admin.admin.send.mutate({ userId: 'bystander', type: 'notification.new', data: { title: 'still here', message: '' } });
    await waitFor(() => ofType(stream.events, 'notification.new').length === 1, 'bystander unaffected');
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    bystander.close();
  });

  it('bounds subscriptions per connection', async () => {
    const limited = await startServer({ maxSubscriptionsPerConnection: 3 });
    const raw = await openRawSocket(limited.wsUrl, await limited.token('greedy'));
    for (let id = 1; id <= 5; id++) raw.send({ id, method: 'subscription', params: { path: 'onNotification', input: { json: undefined } } });
    await waitFor(() => raw.messages.filter((message) => (message as { error?: unknown }).error).length === 2, 'two refusals');
    const refused = raw.messages.filter((message) => (message as { error?: unknown }).error) as Array<{ id: number; error: { json: { data: { code: string } } } }>;
    expect(refused.map((message) => message.error.json.data.code)).toEqual(['TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS']);
    expect((await limited.http(await limited.token('root', 'admin')).admin.stats.query()).subscriptions).toBe(3);
    raw.close();
    await limited.stop();
  });
});
