import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

let t: TestServer;
// The default 5-minute window: a loaded machine must not turn a retry into a second publish.
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const note = (title: string) => ({ title, message: 'body' });

describe('idempotent publishing', () => {
  it('shows a retried publish once and returns the first publish’s id', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    const alice = t.connect(await t.token('alice'));
    const stream = collect(alice.api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');
    const send = () => admin.admin.send.mutate({ userId: 'alice', type: 'notification.new', data: note('once'), idempotencyKey: 'k-1' });
    const first = await send();
    const retry = await send();
    const [concurrentA, concurrentB] = await Promise.all([
      admin.admin.broadcast.mutate({ roomId: 'r', type: 'sphere.updated', data: { changed: ['x'] }, idempotencyKey: 'k-2' }),
      admin.admin.broadcast.mutate({ roomId: 'r', type: 'sphere.updated', data: { changed: ['x'] }, idempotencyKey: 'k-2' }),
    ]);
    expect(retry.eventId).toBe(first.eventId);
    expect(concurrentB.eventId).toBe(concurrentA.eventId);
    await sleep(100);
    expect(ofType(stream.events, 'notification.new')).toHaveLength(1);
    expect((await admin.admin.history.query({ type: 'sphere.updated', roomId: 'r' })).length).toBe(1);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(metrics.match(/^realtime_deduplicated_publishes_total (\d+)/m)?.[1])).toBe(2);
    alice.close();
  });

  it('answers CONFLICT for the same key with a different payload', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    await admin.admin.send.mutate({ userId: 'bob', type: 'notification.new', data: note('a'), idempotencyKey: 'k-3' });
    await expect(
      admin.admin.send.mutate({ userId: 'bob', type: 'notification.new', data: note('b'), idempotencyKey: 'k-3' }),
    ).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
  });

  it('scopes keys to the caller, and publishes again after the window', async () => {
    const root = t.http(await t.token('root', 'admin'));
    const other = t.http(await t.token('other-admin', 'admin'));
    const a = await root.admin.send.mutate({ userId: 'carol', type: 'notification.new', data: note('x'), idempotencyKey: 'k-4' });
    const b = await other.admin.send.mutate({ userId: 'carol', type: 'notification.new', data: note('x'), idempotencyKey: 'k-4' });
    expect(b.eventId).not.toBe(a.eventId);

    const shortWindow = await startServer({ idempotencyWindowMs: 200 });
    const admin = shortWindow.http(await shortWindow.token('root', 'admin'));
    const first = await admin.admin.send.mutate({ userId: 'carol', type: 'notification.new', data: note('x'), idempotencyKey: 'k-6' });
    await sleep(300);
    const afterWindow = await admin.admin.send.mutate({ userId: 'carol', type: 'notification.new', data: note('x'), idempotencyKey: 'k-6' });
    expect(afterWindow.eventId).not.toBe(first.eventId);
    await shortWindow.stop();
  });

  it('lets a failed publish be retried under the same key', async () => {
    const admin = t.http(await t.token('root', 'admin'));
    await expect(
      admin.admin.send.mutate({ userId: 'dan', type: 'system.maintenance', data: { message: 'soon', durationMinutes: -1 }, idempotencyKey: 'k-5' }),
    ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    // A different (valid) payload under the key of a publish that failed is a fresh publish, not a conflict.
    await expect(
      admin.admin.send.mutate({ userId: 'dan', type: 'system.maintenance', data: { message: 'soon', durationMinutes: 5 }, idempotencyKey: 'k-5' }),
    ).resolves.toMatchObject({ eventId: expect.any(String) });
  });

  it('shows one event when the first response was lost with its connection and the producer retries', async () => {
    const producerToken = await t.token('worker', 'service');
    const user = t.connect(await t.token('erin'));
    const stream = collect(user.api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');
    const request = {
      id: 1,
      method: 'mutation',
      params: { path: 'notifications.notify', input: { json: { userId: 'erin', title: 'lost reply', message: '', idempotencyKey: 'job-7' } } },
    };
    // First attempt: handled, then the socket dies before the producer reads the reply. (A call
    // still held while the token is verified dies with its socket: nothing is run for a
    // connection that is gone.)
    const first = await openRawSocket(t.wsUrl, producerToken);
    first.send(request);
    await waitFor(() => ofType(stream.events, 'notification.new').length === 1, 'first attempt handled');
    first.close();
    // The producer cannot know it went through, and retries on a new connection.
    const retry = await openRawSocket(t.wsUrl, producerToken);
    retry.send(request);
    const reply = (await waitFor(() => retry.messages.find((message) => (message as { id?: number }).id === 1), 'reply')) as {
      result: { data: { json: { eventId: string } } };
    };
    expect(reply.result.data.json.eventId).toBe(ofType(stream.events, 'notification.new')[0]!.id);
    await sleep(100);
    expect(ofType(stream.events, 'notification.new')).toHaveLength(1);
    retry.close();
    user.close();
  });
});
