/** Governance with the core alone: deciding once, who may decide, requireApproval, and expiry on fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { channels } from '../../server/core/channels.js';
import { ApprovalDeniedError } from '../../server/core/governance.js';
import { createRealtimeServices, type RealtimeServices } from '../../server/core/service.js';

let services: RealtimeServices;
let governanceEvents: RealtimeEvent[];

const alice = { userId: 'alice', isAdmin: false };
const bob = { userId: 'bob', isAdmin: false };
const root = { userId: 'root', isAdmin: true };

beforeEach(async () => {
  services = createRealtimeServices({ bus: new MemoryBus(), onError: () => {} });
  await services.start();
  governanceEvents = [];
  await services.core.subscribe({
    connection: { id: 'operator', userId: 'operator' },
    channels: [channels.governance],
    sink: (event) => governanceEvents.push(event),
  });
});
afterEach(async () => {
  vi.useRealTimers();
  await services.stop();
});

const request = (overrides: Partial<Parameters<RealtimeServices['governance']['request']>[0]> = {}) =>
  services.governance.request({ action: 'delete_project', approvers: ['alice'], requesterId: 'worker', expiresInMs: 60_000, ...overrides });

describe('deciding', () => {
  it('creates a pending action that only its approvers or an admin may decide, once', async () => {
    const created = await request({ details: { projectId: 'p1' } });
    expect(created).toMatchObject({ status: 'pending', approvers: ['alice'], requesterId: 'worker', details: { projectId: 'p1' } });
    expect(created.expiresAt.getTime() - created.createdAt.getTime()).toBe(60_000);
    expect(governanceEvents.map((event) => event.type)).toEqual(['governance.required']);

    await expect(services.governance.decide(created.actionId, 'approved', bob)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const decided = await services.governance.decide(created.actionId, 'approved', alice, 'looks fine');
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'alice', reason: 'looks fine' });
    expect(decided.decidedAt).toBeInstanceOf(Date);
    await expect(services.governance.decide(created.actionId, 'rejected', alice)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(services.governance.decide(created.actionId, 'rejected', root)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(services.governance.get(created.actionId)).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    expect(governanceEvents.at(-1)).toMatchObject({
      type: 'governance.approved',
      data: { actionId: created.actionId, decidedBy: 'alice', reason: 'looks fine' },
    });
  });

  it('lets an admin decide any action, and reports unknown ones', async () => {
    const created = await request();
    await services.governance.decide(created.actionId, 'rejected', root, 'not today');
    expect(services.governance.get(created.actionId)).toMatchObject({ status: 'rejected', decidedBy: 'root', reason: 'not today' });
    await expect(services.governance.decide('nope', 'approved', root)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists what still waits for each caller', async () => {
    const forAlice = await request();
    const forBoth = await request({ approvers: ['alice', 'bob'] });
    await request({ approvers: ['carol'] });
    const ids = (list: { actionId: string }[]) => list.map((action) => action.actionId).sort();
    expect(ids(services.governance.pendingFor(alice))).toEqual([forAlice.actionId, forBoth.actionId].sort());
    expect(ids(services.governance.pendingFor(bob))).toEqual([forBoth.actionId]);
    expect(services.governance.pendingFor(root)).toHaveLength(3);
    await services.governance.decide(forBoth.actionId, 'approved', bob);
    expect(ids(services.governance.pendingFor(alice))).toEqual([forAlice.actionId]);
  });

  it('refuses requests without approvers, with a bad expiry, or with a taken id', async () => {
    await expect(request({ approvers: [] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(request({ expiresInMs: Number.NaN })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(request({ expiresInMs: 2 ** 31 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await request({ actionId: 'fixed' });
    await expect(request({ actionId: 'fixed' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('requireApproval', () => {
  it('resolves when an approver approves', async () => {
    const waiting = services.governance.requireApproval('deploy', { approvers: ['alice'], expiresInMs: 60_000, agentId: 'agent-1' });
    const [pending] = services.governance.pendingFor(alice);
    expect(pending).toMatchObject({ action: 'deploy', agentId: 'agent-1', requesterId: 'system' });
    await services.governance.decide(pending!.actionId, 'approved', alice);
    await expect(waiting).resolves.toMatchObject({ status: 'approved', decidedBy: 'alice' });
  });

  it('rejects with the decision when rejected', async () => {
    const waiting = services.governance.requireApproval({ action: 'deploy', approvers: ['alice'], requesterId: 'worker' });
    const [pending] = services.governance.pendingFor(alice);
    await services.governance.decide(pending!.actionId, 'rejected', alice, 'too risky');
    const error = await waiting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', action: { status: 'rejected', decidedBy: 'alice', reason: 'too risky' } });
  });

  it('withdraws the action when its signal aborts, and creates none when already aborted', async () => {
    const controller = new AbortController();
    const waiting = services.governance.requireApproval('deploy', { approvers: ['alice'], requesterId: 'worker', signal: controller.signal });
    const [pending] = services.governance.pendingFor(alice);
    controller.abort(new Error('run cancelled'));
    await expect(waiting).rejects.toThrow('run cancelled');
    await vi.waitFor(() => expect(services.governance.get(pending!.actionId)).toMatchObject({ status: 'rejected', decidedBy: 'worker', reason: 'withdrawn' }));
    expect(services.governance.pendingFor(alice)).toEqual([]);

    await expect(services.governance.requireApproval('deploy', { approvers: ['alice'], signal: controller.signal })).rejects.toThrow('run cancelled');
    expect(services.governance.pendingFor(root)).toEqual([]);
  });

  it('lets only the requester or an admin withdraw', async () => {
    const created = await request();
    await expect(services.governance.withdraw(created.actionId, alice)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await services.governance.withdraw(created.actionId, { userId: 'worker', isAdmin: false }, 'plan changed');
    expect(services.governance.get(created.actionId)).toMatchObject({ status: 'rejected', reason: 'withdrawn: plan changed' });
  });
});

describe('expiry (fake timers)', () => {
  it('expires on time by itself, emits governance.expired, and rejects the waiting caller', async () => {
    vi.useFakeTimers();
    const waiting = services.governance.requireApproval('deploy', { approvers: ['alice'], expiresInMs: 300 });
    const outcome = waiting.then(
      () => 'approved',
      (error: unknown) => error,
    );
    const [pending] = services.governance.pendingFor(alice);
    await vi.advanceTimersByTimeAsync(299);
    expect(services.governance.get(pending!.actionId)?.status).toBe('pending');
    expect(governanceEvents.map((event) => event.type)).toEqual(['governance.required']);

    await vi.advanceTimersByTimeAsync(1);
    expect(services.governance.get(pending!.actionId)?.status).toBe('expired');
    expect(governanceEvents.at(-1)).toMatchObject({ type: 'governance.expired', data: { actionId: pending!.actionId } });
    const error = await outcome;
    expect(error).toBeInstanceOf(ApprovalDeniedError);
    expect(error).toMatchObject({ action: { status: 'expired' } });
    expect(services.governance.pendingFor(alice)).toEqual([]);
    await expect(services.governance.decide(pending!.actionId, 'approved', alice)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('does not expire an action decided in time', async () => {
    vi.useFakeTimers();
    const created = await request({ expiresInMs: 1_000 });
    await vi.advanceTimersByTimeAsync(500);
    await services.governance.decide(created.actionId, 'approved', alice);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(services.governance.get(created.actionId)?.status).toBe('approved');
    expect(governanceEvents.map((event) => event.type)).toEqual(['governance.required', 'governance.approved']);
  });

  it('tells waiting callers when the service stops, whether or not their request was in yet', async () => {
    const waiting = services.governance.requireApproval('deploy', { approvers: ['alice'] });
    await vi.waitFor(() => expect(services.governance.pendingFor(alice)).toHaveLength(1));
    const racing = services.governance.requireApproval('deploy', { approvers: ['alice'] });
    services.governance.stop();
    await expect(waiting).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await expect(racing).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});
