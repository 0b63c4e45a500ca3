/**
 * Agents and governance over the real API: a producer in another process (the worker fixture,
 * using client/producer.ts) drives runs and asks for approval; users watch, cancel and decide
 * with the official client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { collect, type Collected } from '../support/collect.js';
import { startServer, type TestClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { startProducerProcess, type ProducerProcess } from './producer-process.js';

let server: TestServer;
let worker: ProducerProcess;
let alice: TestClient;
let bob: TestClient;

beforeAll(async () => {
  server = await startServer();
  worker = await startProducerProcess(server.url, await server.token('worker-1', 'service'));
  alice = server.connect(await server.token('alice'));
  bob = server.connect(await server.token('bob'));
}, 40_000);

afterAll(async () => {
  await worker?.stop();
  await server?.stop();
});

async function subscribed(collected: Collected): Promise<Collected> {
  await waitFor(() => collected.started, 'the subscription to start');
  return collected;
}

const ofAgent = (events: RealtimeEvent[], agentId: string) =>
  events.filter((event) => (event.data as { agentId?: string }).agentId === agentId);

async function ok(answer: Promise<{ ok: boolean; value?: unknown; message?: string }>) {
  const settled = await answer;
  expect(settled, settled.message).toMatchObject({ ok: true });
  return settled.value;
}

describe('agent runs from a producer process', () => {
  it('streams a run live to its owner and to nobody else, with the lifecycle enforced', async () => {
    const watching = await subscribed(collect(alice.api.onAgent, undefined));
    const stranger = await subscribed(collect(bob.api.onAgent, undefined));
    await ok(worker.call('startRun', { agentId: 'run-live', userId: 'alice', task: 'summarise the thread' }));
    await ok(worker.call('thinking', { agentId: 'run-live', step: 'reading' }));
    await ok(worker.call('progress', { agentId: 'run-live', progress: 50, step: 'drafting' }));
    expect(await worker.call('progress', { agentId: 'run-live', progress: 20 })).toMatchObject({ ok: false, code: 'PRECONDITION_FAILED' });
    expect(await worker.call('progress', { agentId: 'run-live', progress: 150 })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await ok(worker.call('complete', { agentId: 'run-live', result: { summary: 'all good' } }));
    expect(await worker.call('thinking', { agentId: 'run-live' })).toMatchObject({ ok: false, code: 'PRECONDITION_FAILED' });

    await waitFor(() => ofAgent(watching.events, 'run-live').length >= 4, 'the run to arrive');
    const events = ofAgent(watching.events, 'run-live');
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['agent.started', { agentId: 'run-live', task: 'summarise the thread' }],
      ['agent.thinking', { agentId: 'run-live', step: 'reading' }],
      ['agent.progress', { agentId: 'run-live', progress: 50, step: 'drafting' }],
      ['agent.complete', { agentId: 'run-live', result: { summary: 'all good' } }],
    ]);
    expect(events.every((event) => event.userId === 'alice' && event.senderId === 'worker-1')).toBe(true);
    expect(events[0]!.timestamp).toBeInstanceOf(Date);
    expect(await alice.api.agents.get.query({ agentId: 'run-live' })).toMatchObject({
      ownerId: 'alice',
      producerId: 'worker-1',
      status: 'complete',
      progress: 100,
      step: 'drafting',
      result: { summary: 'all good' },
      lastEventId: events[3]!.id,
    });
    await expect(bob.api.agents.get.query({ agentId: 'run-live' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    expect(ofAgent(stranger.events, 'run-live')).toEqual([]);
    watching.unsubscribe();
    stranger.unsubscribe();
  });

  it('gives a late subscriber the current run first, then live events', async () => {
    await ok(worker.call('startRun', { agentId: 'run-late', userId: 'alice', task: 'index the wiki' }));
    await ok(worker.call('progress', { agentId: 'run-late', progress: 40, step: 'crawling' }));

    const late = await subscribed(collect(alice.api.onAgent, { agentId: 'run-late' }));
    await waitFor(() => late.events.length >= 2, 'the replay of the run so far');
    expect(late.events.map((event) => [event.type, event.data])).toEqual([
      ['agent.started', { agentId: 'run-late', task: 'index the wiki' }],
      ['agent.progress', { agentId: 'run-late', progress: 40, step: 'crawling' }],
    ]);
    await ok(worker.call('progress', { agentId: 'run-late', progress: 70, step: 'indexing' }));
    await waitFor(() => late.events.length >= 3, 'the live progress');
    expect(late.events[2]).toMatchObject({ type: 'agent.progress', data: { progress: 70, step: 'indexing' } });
    expect(await alice.api.agents.get.query({ agentId: 'run-late' })).toMatchObject({ status: 'running', progress: 70, lastEventId: late.events[2]!.id });
    await ok(worker.call('complete', { agentId: 'run-late' }));
    late.unsubscribe();
  });

  it("aborts the producer's signal when the owner cancels; a stranger is FORBIDDEN", async () => {
    await ok(worker.call('startRun', { agentId: 'run-cancel', userId: 'alice' }));
    await ok(worker.call('progress', { agentId: 'run-cancel', progress: 10 }));

    await expect(bob.api.agents.cancel.mutate({ agentId: 'run-cancel' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    expect(worker.events.some((event) => event.event === 'aborted' && event.agentId === 'run-cancel')).toBe(false);

    await alice.api.agents.cancel.mutate({ agentId: 'run-cancel', reason: 'not needed any more' });
    const aborted = await worker.next((event) => event.event === 'aborted' && event.agentId === 'run-cancel');
    expect(aborted.reason).toContain('cancelled by alice: not needed any more');
    expect(await worker.call('progress', { agentId: 'run-cancel', progress: 20 })).toMatchObject({ ok: false, code: 'PRECONDITION_FAILED' });
    expect(await alice.api.agents.get.query({ agentId: 'run-cancel' })).toMatchObject({ status: 'cancelled', cancelledBy: 'alice' });
  });

  it('accepts agent events only from producers', async () => {
    await expect(
      alice.api.agents.emit.mutate({ agentId: 'forged', userId: 'bob', type: 'agent.started', data: {} }),
    ).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
  });
});

describe('approvals requested by a producer process', () => {
  it('resolves when the named approver approves; others are FORBIDDEN and a second decision is a CONFLICT', async () => {
    const inbox = await subscribed(collect(alice.api.onGovernance, undefined));
    const approval = worker.call('requireApproval', { action: 'deploy', approvers: ['alice'], expiresInMs: 30_000, details: { env: 'prod' } }, 15_000);

    const required = await waitFor(() => inbox.events.find((event) => event.type === 'governance.required'), 'governance.required');
    expect(required.data).toMatchObject({ action: 'deploy', approvers: ['alice'], details: { env: 'prod' } });
    const { actionId } = required.data as { actionId: string };
    expect((await alice.api.governance.pending.query()).map((action) => action.actionId)).toContain(actionId);
    expect((await bob.api.governance.pending.query()).map((action) => action.actionId)).not.toContain(actionId);

    await expect(bob.api.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    await alice.api.governance.approve.mutate({ actionId, reason: 'ship it' });
    await expect(alice.api.governance.reject.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    await expect(alice.api.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });

    expect(await approval).toMatchObject({ ok: true, value: { actionId, status: 'approved', decidedBy: 'alice', reason: 'ship it' } });
    expect(await alice.api.governance.get.query({ actionId })).toMatchObject({ status: 'approved', decidedBy: 'alice', requesterId: 'worker-1' });
    expect((await alice.api.governance.pending.query()).map((action) => action.actionId)).not.toContain(actionId);
    inbox.unsubscribe();
  });

  it('rejects the waiting producer when the approver rejects', async () => {
    const inbox = await subscribed(collect(alice.api.onGovernance, undefined));
    const approval = worker.call('requireApproval', { action: 'drop_table', approvers: ['alice'], expiresInMs: 30_000 }, 15_000);
    const required = await waitFor(
      () => inbox.events.find((event) => event.type === 'governance.required' && (event.data as { action: string }).action === 'drop_table'),
      'governance.required',
    );
    await alice.api.governance.reject.mutate({ actionId: (required.data as { actionId: string }).actionId, reason: 'too risky' });
    expect(await approval).toMatchObject({ ok: false, name: 'ApprovalDeniedError', status: 'rejected', action: { decidedBy: 'alice', reason: 'too risky' } });
    inbox.unsubscribe();
  });

  it('expires on time with nobody deciding, and the producer hears it', async () => {
    const inbox = await subscribed(collect(alice.api.onGovernance, undefined));
    const answer = await worker.call('requireApproval', { action: 'rotate_keys', approvers: ['alice'], expiresInMs: 300 }, 15_000);
    expect(answer).toMatchObject({ ok: false, name: 'ApprovalDeniedError', status: 'expired' });
    const actionId = answer.action!.actionId as string;
    const mine = () => inbox.events.filter((event) => (event.data as { actionId?: string }).actionId === actionId);
    await waitFor(() => mine().length >= 2, 'governance.expired');
    expect(mine().map((event) => event.type)).toEqual(['governance.required', 'governance.expired']);
    expect(await alice.api.governance.get.query({ actionId })).toMatchObject({ status: 'expired' });
    await expect(alice.api.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    inbox.unsubscribe();
  });

  it("withdraws a run's pending approval when the run is cancelled", async () => {
    const inbox = await subscribed(collect(alice.api.onGovernance, undefined));
    await ok(worker.call('startRun', { agentId: 'run-approval', userId: 'alice' }));
    const approval = worker.call('requireApproval', { agentId: 'run-approval', action: 'send_email', approvers: ['alice'], expiresInMs: 30_000 }, 15_000);
    const required = await waitFor(
      () => inbox.events.find((event) => event.type === 'governance.required' && (event.data as { agentId?: string }).agentId === 'run-approval'),
      'governance.required',
    );
    const { actionId } = required.data as { actionId: string };
    await alice.api.agents.cancel.mutate({ agentId: 'run-approval' });
    expect(await approval).toMatchObject({ ok: false, message: expect.stringContaining('cancelled by alice') });
    await waitFor(async () => (await alice.api.governance.get.query({ actionId })).status === 'rejected', 'the action to be withdrawn');
    expect(await alice.api.governance.get.query({ actionId })).toMatchObject({ decidedBy: 'worker-1', reason: expect.stringContaining('withdrawn') });
    inbox.unsubscribe();
  });

  it('lets the producer notify a user', async () => {
    const notifications = await subscribed(collect(alice.api.onNotification, undefined));
    const answer = await ok(worker.call('notify', { userId: 'alice', title: 'Run finished', message: 'See the summary' }));
    await waitFor(() => notifications.events.length >= 1, 'notification.new');
    expect(notifications.events[0]).toMatchObject({
      id: (answer as { notificationId: string }).notificationId,
      type: 'notification.new',
      data: { title: 'Run finished', message: 'See the summary' },
      senderId: 'worker-1',
    });
    notifications.unsubscribe();
  });
});
