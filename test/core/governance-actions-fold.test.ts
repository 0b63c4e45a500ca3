/** The governance-action fold on plain objects: what every process and the hook share. */
import { describe, expect, it } from 'vitest';
import { foldGovernanceAction, hasQuorum, isPendingAction, type GovernanceAction } from '../../shared/folds/governance-actions.js';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
const expiresAt = at(600);

const requested = (): GovernanceAction =>
  foldGovernanceAction(undefined, {
    type: 'governance.required',
    id: 'e-1',
    timestamp: at(0),
    senderId: 'worker',
    userId: 'alice',
    data: { actionId: 'x1', action: 'deploy', approvers: ['alice', 'bob'], expiresAt, details: { env: 'prod' } },
  });

describe('foldGovernanceAction', () => {
  it('creates a pending action from governance.required', () => {
    expect(requested()).toEqual({
      actionId: 'x1',
      eventId: 'e-1',
      action: 'deploy',
      approvers: ['alice', 'bob'],
      quorum: 1,
      approvals: [],
      expiresAt,
      requesterId: 'worker',
      createdAt: at(0),
      status: 'pending',
      details: { env: 'prod' },
    });
  });

  it('fills in what the seed’s events leave out: the addressee approves, the default expiry applies', () => {
    const action = foldGovernanceAction(
      undefined,
      { type: 'governance.required', timestamp: at(0), userId: 'alice', data: { actionId: 'x2', action: 'deploy' } },
      { defaultExpiresInMs: 60_000 },
    );
    expect(action).toMatchObject({ approvers: ['alice'], requesterId: 'system', expiresAt: at(60) });
    expect(action.eventId).toBeUndefined();
  });

  it('counts approvals up to a quorum as a union (two processes may each publish a partial count)', () => {
    const pending = { ...requested(), quorum: 2 };
    const one = foldGovernanceAction(pending, { type: 'governance.pending', timestamp: at(1), data: { actionId: 'x1', action: 'deploy', approvals: ['alice'], quorum: 2 } });
    expect(one).toMatchObject({ status: 'pending', approvals: ['alice'] });
    expect(hasQuorum(one)).toBe(false);
    const other = foldGovernanceAction(one, { type: 'governance.pending', timestamp: at(1), data: { actionId: 'x1', action: 'deploy', approvals: ['bob'], quorum: 2 } });
    expect(other.approvals).toEqual(['alice', 'bob']);
    expect(hasQuorum(other)).toBe(true);
    expect(foldGovernanceAction(other, { type: 'governance.pending', timestamp: at(2), data: { actionId: 'x1', action: 'deploy', approvals: ['bob'] } })).toBe(other);
    const approved = foldGovernanceAction(other, { type: 'governance.approved', timestamp: at(3), data: { actionId: 'x1', decidedBy: 'bob', approvedBy: ['alice', 'bob'] } });
    expect(approved).toMatchObject({ status: 'approved', approvals: ['alice', 'bob'], decidedBy: 'bob' });
  });

  it('is decided once: the first decision wins and later ones change nothing', () => {
    const pending = requested();
    const approved = foldGovernanceAction(pending, { type: 'governance.approved', timestamp: at(5), data: { actionId: 'x1', decidedBy: 'bob', reason: 'ok' } });
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'bob', reason: 'ok', decidedAt: at(5) });
    expect(pending.status).toBe('pending');
    const rejectedLater = foldGovernanceAction(approved, { type: 'governance.rejected', timestamp: at(6), data: { actionId: 'x1', decidedBy: 'alice' } });
    expect(rejectedLater).toBe(approved);
    expect(foldGovernanceAction(approved, { type: 'governance.expired', timestamp: at(7), data: { actionId: 'x1' } })).toBe(approved);
  });

  it('expires a pending action at the event’s time', () => {
    const expired = foldGovernanceAction(requested(), { type: 'governance.expired', timestamp: at(600), data: { actionId: 'x1', expiredAt: at(600) } });
    expect(expired).toMatchObject({ status: 'expired', decidedAt: at(600) });
    expect(expired.decidedBy).toBeUndefined();
    expect(isPendingAction(expired)).toBe(false);
  });

  it('ignores a second governance.required, governance.pending, and decisions of unknown actions', () => {
    const pending = requested();
    expect(
      foldGovernanceAction(pending, { type: 'governance.required', timestamp: at(9), data: { actionId: 'x1', action: 'other' } }),
    ).toBe(pending);
    expect(foldGovernanceAction(pending, { type: 'governance.pending', timestamp: at(9), data: { actionId: 'x1', action: 'deploy' } })).toBe(pending);
    expect(foldGovernanceAction(undefined, { type: 'governance.approved', timestamp: at(9), data: { actionId: 'zz', decidedBy: 'bob' } })).toBeUndefined();
    expect(isPendingAction(pending)).toBe(true);
  });
});
