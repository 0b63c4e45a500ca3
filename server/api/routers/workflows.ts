/**
 * Agents and governance: users steer (cancel, approve, reject); producers emit and request.
 *
 * Every mutation here publishes an event, so every one takes an optional `idempotencyKey`: a
 * retry with the same key, from the same caller, to the same procedure, within the window
 * answers with the first call's result and publishes nothing (see `idempotent`). Without a key
 * nothing changes. This matters more here than elsewhere, because these procedures are not
 * naturally repeatable: a retried `agent.started` would be a CONFLICT (already running), a
 * retried `agent.complete` a PRECONDITION_FAILED (already ended), a retried request with its
 * own `actionId` a CONFLICT (already exists), and a retried decision a CONFLICT (already
 * decided), each reporting failure for something that succeeded.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { agentEventTypes, eventSchemas, type AgentEventType } from '../../../shared/events.js';
import type { AuthUser } from '../auth.js';
import { idempotencyKeySchema, idempotent } from '../idempotent.js';
import { idSchema, reasonSchema } from '../inputs.js';
import { authedProcedure, producerProcedure, router } from '../trpc.js';

const decider = (user: AuthUser) => ({ userId: user.userId, isAdmin: user.role === 'admin' });
const canSeeAll = (user: AuthUser) => user.role === 'admin' || user.role === 'service';
/** `governance.request` takes what its `governance.required` event will carry (shared/events.ts). */
const { expiresAt: _expiresAt, ...requiredShape } = eventSchemas['governance.required'].shape;
const decisionInput = z.object({ actionId: idSchema, reason: reasonSchema.optional(), idempotencyKey: idempotencyKeySchema });

export const agentsRouter = router({
  /**
   * The owner (or an admin) cancels a running agent. With an `idempotencyKey`, a retry of a
   * cancel that went through answers with the same `eventId` instead of PRECONDITION_FAILED
   * (the run has ended): the caller asked for this cancel, and it happened. A cancel without a
   * key, or under a new key, of a run already ended is still PRECONDITION_FAILED, so a second
   * user's cancel still learns that it came too late.
   */
  cancel: authedProcedure
    .input(z.object({ agentId: idSchema, reason: reasonSchema.optional(), idempotencyKey: idempotencyKeySchema }))
    .mutation(
      idempotent('agents.cancel', async ({ ctx, input }) => {
        const event = await ctx.services.agents.cancel(input.agentId, decider(ctx.user), input.reason);
        return { eventId: event.id };
      }),
    ),
  /**
   * The current state of a run (its owner, admins and services). Its `lastEventId` is where an
   * `onAgent` subscription picks up to receive exactly what happens after this state.
   */
  get: authedProcedure.input(z.object({ agentId: idSchema })).query(async ({ ctx, input }) => {
    const { store } = ctx.services.core;
    // A run this process never saw may have finished before a restart: the store keeps it.
    const run = ctx.services.agents.get(input.agentId) ?? (store.enabled ? (await store.finishedRuns({ agentId: input.agentId }, 1))[0] : undefined);
    if (!run) throw new TRPCError({ code: 'NOT_FOUND', message: `No agent run ${input.agentId}` });
    if (run.ownerId !== ctx.user.userId && !canSeeAll(ctx.user)) {
      // A run in a room is the room's members' to read too.
      if (run.roomId === undefined || !(await ctx.roomAccess.admits(ctx.user, run.roomId, 'read'))) {
        throw new TRPCError({ code: 'FORBIDDEN', message: 'Not your agent' });
      }
    }
    return run;
  }),
  /**
   * The caller's runs (every run for admins and services): those this process holds, and the
   * finished ones the durable store keeps (so they are listed after a restart), newest 1,000.
   */
  list: authedProcedure.query(async ({ ctx }) => {
    const filter = canSeeAll(ctx.user) ? {} : { ownerId: ctx.user.userId };
    const live = ctx.services.agents.list(filter);
    const { store } = ctx.services.core;
    if (!store.enabled) return live;
    await store.written();
    const known = new Set(live.map((run) => run.agentId));
    return [...live, ...(await store.finishedRuns(filter, 1_000)).filter((run) => !known.has(run.agentId))];
  }),
  /**
   * Producers emit an agent event for `userId`'s agent, with the same lifecycle checks as
   * in-process code. With an `idempotencyKey` (one per logical emit: two progress reports of
   * 50% are two keys), a retry answers with the first emit's `eventId` and event, even if the
   * run has moved on since, and the lifecycle is not checked again.
   */
  emit: producerProcedure
    .input(
      z.object({
        agentId: idSchema,
        userId: idSchema,
        type: z.enum(agentEventTypes as [AgentEventType, ...AgentEventType[]]),
        data: z.record(z.string(), z.unknown()).default({}),
        idempotencyKey: idempotencyKeySchema,
      }),
    )
    .mutation(
      idempotent('agents.emit', async ({ ctx, input }) => {
        const event = await ctx.services.agents.emit(input.agentId, input.type, input.userId, input.data, ctx.user.userId);
        return { eventId: event.id, event };
      }),
    ),
});

/**
 * Decisions (approve, reject, withdraw) take an `idempotencyKey` too. An action is decided once,
 * so a retried decision would otherwise be a CONFLICT ("already approved") even when it was this
 * very call that decided it; under the same key the retry answers with the action as the first
 * call left it. We chose the key, not "same decider and same decision counts as success",
 * because only the key tells a retry from a second, separate click: without a key (or under a
 * new one) a decision on a decided action stays CONFLICT, so an approver who arrives late, or
 * whose approve lost to someone's reject, is told so. Keys are per procedure, so an approve and
 * a reject under one key are two different calls, and the second is a CONFLICT.
 */
export const governanceRouter = router({
  approve: authedProcedure.input(decisionInput).mutation(
    idempotent('governance.approve', async ({ ctx, input }) =>
      ctx.services.governance.decide(input.actionId, 'approved', decider(ctx.user), input.reason),
    ),
  ),
  reject: authedProcedure.input(decisionInput).mutation(
    idempotent('governance.reject', async ({ ctx, input }) =>
      ctx.services.governance.decide(input.actionId, 'rejected', decider(ctx.user), input.reason),
    ),
  ),
  /** The requester (or an admin) takes back a pending action: it ends rejected, reason `withdrawn`. */
  withdraw: authedProcedure.input(decisionInput).mutation(
    idempotent('governance.withdraw', async ({ ctx, input }) =>
      ctx.services.governance.withdraw(input.actionId, decider(ctx.user), input.reason),
    ),
  ),
  /**
   * Decided actions (approved, rejected, expired) the caller requested or could approve (all of
   * them for admins), newest first; pass `nextCursor` back for the next page.
   */
  history: authedProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(50), cursor: z.string().max(300).optional() }))
    .query(async ({ ctx, input }) => {
      const page = { limit: input.limit, ...(input.cursor !== undefined && { cursor: input.cursor }) };
      const { store } = ctx.services.core;
      // The audit trail when there is one: the same answer after a restart, and past what memory holds.
      if (!store.enabled) return ctx.services.governance.history(decider(ctx.user), page);
      await store.written();
      const by = decider(ctx.user);
      return store.decidedActions(by.isAdmin ? undefined : by.userId, page);
    }),
  /** Actions still waiting for the caller's decision (all pending actions for admins). */
  pending: authedProcedure.query(({ ctx }) => ctx.services.governance.pendingFor(decider(ctx.user))),
  get: authedProcedure.input(z.object({ actionId: idSchema })).query(async ({ ctx, input }) => {
    const { store } = ctx.services.core;
    const action = ctx.services.governance.get(input.actionId) ?? (store.enabled ? await store.action(input.actionId) : undefined);
    if (!action) throw new TRPCError({ code: 'NOT_FOUND', message: `No action ${input.actionId}` });
    const involved = action.approvers.includes(ctx.user.userId) || action.requesterId === ctx.user.userId;
    if (!involved && !canSeeAll(ctx.user)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Not your action' });
    return action;
  }),
  /**
   * Producers request approval; the action waits until decided or expired. With an
   * `idempotencyKey`, a retry answers with the action the first request created (same
   * `actionId`, as it was when created: read `governance.get` for its current status) and
   * publishes no second `governance.required`; a server-chosen `actionId` is thus stable across
   * retries too.
   */
  request: producerProcedure
    .input(
      z.object({
        ...requiredShape,
        // The caller may choose the id (a retry-safe key of its own) or leave it to the server.
        actionId: requiredShape.actionId.optional(),
        // The event may name none (the seed's events went to one user); a request names at least one.
        approvers: requiredShape.approvers.unwrap().min(1),
        // A request says how long it may wait; its event carries the resulting `expiresAt`.
        expiresInMs: z.number().int().min(1).max(7 * 24 * 3_600_000).optional(),
        idempotencyKey: idempotencyKeySchema,
      }),
    )
    .mutation(
      idempotent('governance.request', async ({ ctx, input }) => {
        const { actionId, description, agentId, expiresInMs, details, idempotencyKey: _key, ...rest } = input;
        return ctx.services.governance.request({
          ...rest,
          requesterId: ctx.user.userId,
          ...(actionId !== undefined && { actionId }),
          ...(description !== undefined && { description }),
          ...(agentId !== undefined && { agentId }),
          ...(expiresInMs !== undefined && { expiresInMs }),
          ...(details !== undefined && { details }),
        });
      }),
    ),
});
