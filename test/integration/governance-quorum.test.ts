/**
 * Quorum approvals and governance history over the real server and the official client (issue 19):
 * each approval short of the quorum tells requester and approvers how far it has come, one
 * rejection rejects, the decision lists who approved, and history pages newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { collect, type Collected } from '../support/collect.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const ofAction = (stream: Collected, actionId: string, type: RealtimeEvent['type']) =>
  stream.events.filter((event) => event.type === type && (event.data as { actionId?: string }).actionId === actionId);

async function watchers(userIds: string[]) {
  const streams: Record<string, Collected> = {};
  for (const userId of userIds) {
    const client = t.connect(await t.token(userId, userId === 'worker' ? 'service' : 'user'));
    streams[userId] = collect(client.api.onGovernance, undefined);
  }
  await waitFor(() => Object.values(streams).every((stream) => stream.started), 'subscribed');
  return streams;
}

describe('quorum approvals', () => {
  it('2 of 3: the first approval sends governance.pending to requester and approvers, the second approves', async () => {
    const streams = await watchers(['worker', 'ann', 'ben', 'cat', 'dan']);
    const worker = t.http(await t.token('worker', 'service'));
    const [ann, ben, cat] = await Promise.all(['ann', 'ben', 'cat'].map(async (userId) => t.http(await t.token(userId))));
    const { actionId, quorum } = await worker.governance.request.mutate({ action: 'deploy', approvers: ['ann', 'ben', 'cat'], quorum: 2 });
    expect(quorum).toBe(2);

    const afterFirst = await ann!.governance.approve.mutate({ actionId });
    expect(afterFirst).toMatchObject({ status: 'pending', approvals: ['ann'], quorum: 2 });
    for (const userId of ['worker', 'ann', 'ben', 'cat']) {
      const pending = await waitFor(() => ofAction(streams[userId]!, actionId, 'governance.pending')[0], `${userId} hears the approval`);
      expect(pending.data).toMatchObject({ actionId, approvals: ['ann'], quorum: 2 });
    }
    // Not an approver nor the requester: nothing.
    expect(ofAction(streams.dan!, actionId, 'governance.pending')).toEqual([]);
    // The approval counts once; the others still see the action, with the approvals so far.
    await expect(ann!.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
    expect((await ann!.governance.pending.query()).map((action) => action.actionId)).not.toContain(actionId);
    expect((await cat!.governance.pending.query()).find((action) => action.actionId === actionId)).toMatchObject({ approvals: ['ann'] });

    const decided = await ben!.governance.approve.mutate({ actionId, reason: 'ship it' });
    expect(decided).toMatchObject({ status: 'approved', decidedBy: 'ben', approvals: ['ann', 'ben'] });
    const approved = await waitFor(() => ofAction(streams.worker!, actionId, 'governance.approved')[0], 'the decision');
    expect(approved.data).toMatchObject({ decidedBy: 'ben', approvedBy: ['ann', 'ben'] });
    await expect(cat!.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
  });

  it('one rejection after one approval rejects the action', async () => {
    const worker = t.http(await t.token('worker', 'service'));
    const [ann, ben, cat] = await Promise.all(['ann', 'ben', 'cat'].map(async (userId) => t.http(await t.token(userId))));
    const { actionId } = await worker.governance.request.mutate({ action: 'drop_table', approvers: ['ann', 'ben', 'cat'], quorum: 2 });
    await ann!.governance.approve.mutate({ actionId });
    expect(await cat!.governance.reject.mutate({ actionId, reason: 'no' })).toMatchObject({ status: 'rejected', decidedBy: 'cat', approvals: ['ann'] });
    await expect(ben!.governance.approve.mutate({ actionId })).rejects.toMatchObject({ data: { code: 'CONFLICT' } });
  });

  it('refuses a quorum larger than the approvers', async () => {
    const worker = t.http(await t.token('worker', 'service'));
    await expect(worker.governance.request.mutate({ action: 'x', approvers: ['ann'], quorum: 2 })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });
});

describe('governance.history', () => {
  it('pages the decided actions a user requested or could approve, newest first; admins see all', async () => {
    const worker = t.http(await t.token('worker', 'service'));
    const eve = t.http(await t.token('eve'));
    const decided: string[] = [];
    for (let index = 0; index < 5; index++) {
      const { actionId } = await worker.governance.request.mutate({ action: `step_${index}`, approvers: ['eve'] });
      await (index % 2 === 0 ? eve.governance.approve : eve.governance.reject).mutate({ actionId });
      decided.unshift(actionId);
    }
    // Still pending: not history.
    const { actionId: open } = await worker.governance.request.mutate({ action: 'open', approvers: ['eve'] });

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await eve.governance.history.query({ limit: 2, ...(cursor !== undefined && { cursor }) });
      expect(result.items.length).toBeLessThanOrEqual(2);
      seen.push(...result.items.map((action) => action.actionId));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual(decided);
    expect(seen).not.toContain(open);

    const stranger = t.http(await t.token('frank'));
    expect((await stranger.governance.history.query({ limit: 10 })).items).toEqual([]);
    const admin = t.http(await t.token('root', 'admin'));
    const all = await admin.governance.history.query({ limit: 200 });
    expect(all.items.map((action) => action.actionId)).toEqual(expect.arrayContaining(decided));
    await expect(eve.governance.history.query({ limit: 2, cursor: 'nonsense' })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });
});
