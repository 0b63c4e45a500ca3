/**
 * Idempotent publishing in the agent and governance workflows (issue 9): retried emits,
 * requests and decisions under one key show once and answer with the first result; the producer
 * client retries a publish whose answer was lost, timed out or rate limited, under the same key,
 * and never retries a failure the service decided on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerClient, type ProducerClient, type ProducerClientOptions } from '../../client/producer.js';
import { channels } from '../../server/core/channels.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { collect, ofType } from '../support/collect.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import { countingWebSockets, type CountingWebSockets } from './fixtures/counting-web-socket.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const ofAgent = (events: RealtimeEvent[], agentId: string) => events.filter((event) => (event.data as { agentId?: string }).agentId === agentId);
const ofAction = (events: RealtimeEvent[], actionId: string) => events.filter((event) => (event.data as { actionId?: string }).actionId === actionId);

async function historyOf(type: RealtimeEvent['type']) {
  return t.http(await t.token('root', 'admin')).admin.history.query({ type, limit: 1000 });
}

/**
 * Drops every WebSocket connection, as a network failure would, the moment the first event of
 * `type` is published on `channel`: the publish has happened, its caller never hears so.
 */
async function dropConnectionsOnFirst(channel: string, type: RealtimeEvent['type']) {
  let dropped = false;
  const subscription = await t.server.services.core.subscribe({
    connection: { id: `dropper-${type}-${Math.random()}`, userId: 'test-dropper' },
    channels: [channel],
    sink: (event) => {
      if (dropped || event.type !== type) return;
      dropped = true;
      t.server.transport.dropAll();
    },
  });
  return { dropped: () => dropped, stop: () => subscription.close() };
}

async function producerWith(options: Partial<ProducerClientOptions> & { sockets: CountingWebSockets; token?: string }): Promise<ProducerClient> {
  const { sockets, token, ...rest } = options;
  return createProducerClient({
    url: t.url,
    token: token ?? (await t.token('worker', 'service')),
    WebSocket: sockets.WebSocket,
    retryDelayMs: () => 20,
    retry: { baseDelayMs: 20 },
    onError: () => {},
    ...rest,
  });
}

describe('idempotency keys on the workflow procedures', () => {
  it('agents.emit: a retried emit shows once and answers with the first event, even after the run moved on', async () => {
    const worker = t.connect(await t.token('worker', 'service'));
    const alice = t.connect(await t.token('alice'));
    const watching = collect(alice.api.onAgent, undefined);
    await waitFor(() => watching.started, 'subscribed');
    const emit = (type: 'agent.started' | 'agent.progress' | 'agent.complete', data: Record<string, unknown>, idempotencyKey: string) =>
      worker.api.agents.emit.mutate({ agentId: 'emit-1', userId: 'alice', type, data, idempotencyKey });

    const started = await emit('agent.started', { task: 'tidy up' }, 'start');
    expect((await emit('agent.started', { task: 'tidy up' }, 'start')).eventId).toBe(started.eventId);
    const [progressA, progressB] = await Promise.all([emit('agent.progress', { progress: 40 }, 'p-40'), emit('agent.progress', { progress: 40 }, 'p-40')]);
    expect(progressB.eventId).toBe(progressA.eventId);
    // Two reports of the same progress under two keys are two publishes.
    await emit('agent.progress', { progress: 40 }, 'p-40-again');
    const completed = await emit('agent.complete', {}, 'done');
    // Without its key this retry would be PRECONDITION_FAILED (the run ended): it went through.
    expect(await emit('agent.complete', {}, 'done')).toMatchObject({ eventId: completed.eventId, event: { id: completed.eventId } });
    await expect(emit('agent.progress', { progress: 50 }, 'p-40')).rejects.toMatchObject({ data: { code: 'CONFLICT' } });

    await sleep(100);
    const expected = ['agent.started', 'agent.progress', 'agent.progress', 'agent.complete'];
    expect(ofAgent(watching.events, 'emit-1').map((event) => event.type)).toEqual(expected);
    const recorded = (await historyOf('agent.progress')).filter((event) => (event.data as { agentId: string }).agentId === 'emit-1');
    expect(recorded).toHaveLength(2);
    worker.close();
    alice.close();
  });

  it('governance.request: a retry answers with the first action (same id) and asks the approvers once', async () => {
    const worker = t.connect(await t.token('worker', 'service'));
    const request = { action: 'delete_project', approvers: ['alice'], details: { project: 'p-1' }, idempotencyKey: 'ask-1' };
    const first = await worker.api.governance.request.mutate(request);
    const retry = await worker.api.governance.request.mutate(request);
    expect(retry).toEqual(first);
    // With the caller's own action id, the retry is not "already exists" either.
    const named = { ...request, actionId: 'named-action', idempotencyKey: 'ask-2' };
    expect((await worker.api.governance.request.mutate(named)).actionId).toBe('named-action');
    expect((await worker.api.governance.request.mutate(named)).actionId).toBe('named-action');
    await expect(worker.api.governance.request.mutate({ ...request, approvers: ['bob'] })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });

    const required = await historyOf('governance.required');
    expect(ofAction(required, first.actionId)).toHaveLength(1);
    expect(ofAction(required, 'named-action')).toHaveLength(1);
    const pending = await t.connect(await t.token('alice')).api.governance.pending.query();
    expect(pending.filter((action) => action.actionId === first.actionId)).toHaveLength(1);
    worker.close();
  });

  it('decisions and cancels: a retry under the key answers with the first decision; anything else is still refused', async () => {
    const worker = t.connect(await t.token('worker', 'service'));
    const alice = t.connect(await t.token('alice'));
    const { actionId } = await worker.api.governance.request.mutate({ action: 'deploy', approvers: ['alice'] });
    const approved = await alice.api.governance.approve.mutate({ actionId, reason: 'ok', idempotencyKey: 'click-1' });
    expect(await alice.api.governance.approve.mutate({ actionId, reason: 'ok', idempotencyKey: 'click-1' })).toEqual(approved);
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    // A second, separate decision (no key, a new key, or another procedure) learns it came too late.
    await expect(alice.api.governance.approve.mutate({ actionId, reason: 'ok' })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    await expect(alice.api.governance.approve.mutate({ actionId, reason: 'ok', idempotencyKey: 'click-2' })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    await expect(alice.api.governance.reject.mutate({ actionId, idempotencyKey: 'click-1' })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    expect(ofAction(await historyOf('governance.approved'), actionId)).toHaveLength(1);

    const withdrawn = await worker.api.governance.request.mutate({ action: 'deploy', approvers: ['alice'] });
    const taken = await worker.api.governance.withdraw.mutate({ actionId: withdrawn.actionId, idempotencyKey: 'take-back' });
    expect(await worker.api.governance.withdraw.mutate({ actionId: withdrawn.actionId, idempotencyKey: 'take-back' })).toEqual(taken);
    expect(ofAction(await historyOf('governance.rejected'), withdrawn.actionId)).toHaveLength(1);

    await worker.api.agents.emit.mutate({ agentId: 'cancel-1', userId: 'alice', type: 'agent.started', data: {} });
    const cancelled = await alice.api.agents.cancel.mutate({ agentId: 'cancel-1', idempotencyKey: 'stop' });
    expect(await alice.api.agents.cancel.mutate({ agentId: 'cancel-1', idempotencyKey: 'stop' })).toEqual(cancelled);
    await expect(alice.api.agents.cancel.mutate({ agentId: 'cancel-1' })).rejects.toMatchObject({ data: { code: 'PRECONDITION_FAILED' } });
    expect(ofAgent(await historyOf('agent.cancelled'), 'cancel-1')).toHaveLength(1);
    worker.close();
    alice.close();
  });
});

describe('the producer client retries under one key', () => {
  it('resolves a notify whose reply was lost with the first publish’s id; the user sees it once', async () => {
    const erin = t.connect(await t.token('erin'));
    const stream = collect(erin.api.onNotification, undefined);
    await waitFor(() => stream.started, 'subscribed');
    const sockets = countingWebSockets();
    const producer = await producerWith({ sockets });
    // A first event gives erin's client a lastEventId, so its resume after the drop misses nothing.
    const warmUp = await producer.notify('erin', { title: 'warm-up', message: '' });
    await waitFor(() => stream.events.length === 1, 'the warm-up');
    const deduplicatedBefore = t.server.services.idempotency.deduplicated;
    const dropper = await dropConnectionsOnFirst(channels.user('erin'), 'notification.new');

    const { notificationId } = await producer.notify('erin', { title: 'lost reply', message: 'once' });
    expect(dropper.dropped()).toBe(true);
    expect(sockets.attemptsOf('notifications.notify')).toBe(3);
    expect(t.server.services.idempotency.deduplicated - deduplicatedBefore).toBe(1);
    // The user's own connection was dropped too; it resumes, and still sees the event once.
    await waitFor(() => ofType(stream.events, 'notification.new').length >= 2, 'the notification');
    await sleep(100);
    expect(ofType(stream.events, 'notification.new').map((event) => event.id)).toEqual([warmUp.notificationId, notificationId]);
    dropper.stop();
    await producer.close();
    erin.close();
  });

  it('drives a run whose start and progress replies were lost: each step shows once', async () => {
    const sockets = countingWebSockets();
    const producer = await producerWith({ sockets });
    const lostStart = await dropConnectionsOnFirst(channels.agents, 'agent.started');
    // Without the key the retry would be a CONFLICT: the run is already running.
    const run = await producer.startRun('lost-replies', { userId: 'alice', task: 'survive drops' });
    lostStart.stop();
    const lostProgress = await dropConnectionsOnFirst(channels.agents, 'agent.progress');
    await run.progress(60, 'halfway');
    lostProgress.stop();
    await run.complete({ ok: true });

    expect(lostStart.dropped() && lostProgress.dropped()).toBe(true);
    expect(sockets.attemptsOf('agents.emit')).toBe(5);
    const history = ofAgent((await historyOf('agent.started')).concat(await historyOf('agent.progress'), await historyOf('agent.complete')), 'lost-replies');
    expect(history.map((event) => event.type).sort()).toEqual(['agent.complete', 'agent.progress', 'agent.started']);
    expect(run.signal.aborted).toBe(false);
    await producer.close();
  });

  it('turns a call that hangs past callTimeoutMs into a retry', async () => {
    const sockets = countingWebSockets();
    const producer = await producerWith({ sockets, callTimeoutMs: 200 });
    sockets.swallowNext('notifications.notify');
    const { notificationId } = await producer.notify('frank', { title: 'slow network', message: '' });
    expect(sockets.attemptsOf('notifications.notify')).toBe(2);
    expect((await historyOf('notification.new')).filter((event) => event.userId === 'frank').map((event) => event.id)).toEqual([notificationId]);
    await producer.close();
  });

  it('never retries a failure the service decided on, nor anything with retry: false', async () => {
    const sockets = countingWebSockets();
    const producer = await producerWith({ sockets });
    const run = await producer.startRun('decided', { userId: 'alice' });
    await expect(run.progress(150)).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    await expect(producer.startRun('decided', { userId: 'alice' })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    await expect(producer.startRun('decided', { userId: 'bob' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await run.complete();
    await expect(run.thinking()).rejects.toMatchObject({ data: { code: 'PRECONDITION_FAILED' } });
    expect(sockets.attemptsOf('agents.emit')).toBe(6);
    expect(ofAgent(await historyOf('agent.started'), 'decided')).toHaveLength(1);
    await producer.close();

    const userSockets = countingWebSockets();
    const notAProducer = await producerWith({ sockets: userSockets, token: await t.token('mallory') });
    await expect(notAProducer.notify('alice', { title: 'hi', message: '' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    expect(userSockets.attemptsOf('notifications.notify')).toBe(1);
    await notAProducer.close();

    const onceSockets = countingWebSockets();
    const once = await producerWith({ sockets: onceSockets, retry: false });
    const dropper = await dropConnectionsOnFirst(channels.user('grace'), 'notification.new');
    await expect(once.notify('grace', { title: 'no retry', message: '' })).rejects.toMatchObject({ name: 'TRPCClientError' });
    expect(onceSockets.attemptsOf('notifications.notify')).toBe(1);
    dropper.stop();
    await once.close();
  });

  it('waits out a rate limit and retries', async () => {
    const limited = await startServer({ rateLimitPerSecond: 1, rateLimitBurst: 1 });
    try {
      const sockets = countingWebSockets();
      const producer = createProducerClient({
        url: limited.url,
        token: await limited.token('worker', 'service'),
        WebSocket: sockets.WebSocket,
        onError: () => {},
      });
      const sent = await Promise.all(['one', 'two', 'three'].map((title) => producer.notify('henry', { title, message: '' })));
      expect(new Set(sent.map((answer) => answer.notificationId)).size).toBe(3);
      expect(sockets.attemptsOf('notifications.notify')).toBeGreaterThan(3);
      const admin = limited.http(await limited.token('root', 'admin'));
      expect((await admin.admin.stats.query()).rateLimited).toBeGreaterThan(0);
      expect(await admin.admin.history.query({ type: 'notification.new' })).toHaveLength(3);
      await producer.close();
    } finally {
      await limited.stop();
    }
  });
});
