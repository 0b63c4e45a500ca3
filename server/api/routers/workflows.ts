/** Agents and governance: users steer (cancel, approve, reject); producers emit and request. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { agentEventTypes, type AgentEventType } from '../../../shared/events.js';
import { jsonValueSchema } from '../../../shared/json.js';
import { limits } from '../../../shared/limits.js';
import type { AuthUser } from '../auth.js';
import { idSchema, reasonSchema } from '../inputs.js';
import { authedProcedure, producerProcedure, router } from '../trpc.js';

const decider = (user: AuthUser) => ({ userId: user.userId, isAdmin: user.role === 'admin' });
const canSeeAll = (user: AuthUser) => user.role === 'admin' || user.role === 'service';
const decisionInput = z.object({ actionId: idSchema, reason: reasonSchema.optional() });

export const agentsRouter = router({
  cancel: authedProcedure
    .input(z.object({ agentId: idSchema, reason: reasonSchema.optional() }))
    .mutation(async ({ ctx, input }) => {
      const event = await ctx.services.agents.cancel(input.agentId, decider(ctx.user), input.reason);
      return { eventId: event.id };
    }),
  /**
   * The current state of a run (its owner, admins and services). Its `lastEventId` is where an
   * `onAgent` subscription picks up to receive exactly what happens after this state.
   */
  get: authedProcedure.input(z.object({ agentId: idSchema })).query(({ ctx, input }) => {
    const run = ctx.services.agents.get(input.agentId);
    if (!run) throw new TRPCError({ code: 'NOT_FOUND', message: `No agent run ${input.agentId}` });
    if (run.ownerId !== ctx.user.userId && !canSeeAll(ctx.user)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Not your agent' });
    }
    return run;
  }),
  /** The caller's runs (every run for admins and services). */
  list: authedProcedure.query(({ ctx }) =>
    ctx.services.agents.list(canSeeAll(ctx.user) ? {} : { ownerId: ctx.user.userId }),
  ),
  /** Producers emit an agent event for `userId`'s agent, with the same lifecycle checks as in-process code. */
  emit: producerProcedure
    .input(
      z.object({
        agentId: idSchema,
        userId: idSchema,
        type: z.enum(agentEventTypes as [AgentEventType, ...AgentEventType[]]),
        data: z.record(z.string(), z.unknown()).default({}),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const event = await ctx.services.agents.emit(input.agentId, input.type, input.userId, input.data as never, ctx.user.userId);
      return { eventId: event.id, event };
    }),
});

export const governanceRouter = router({
  approve: authedProcedure
    .input(decisionInput)
    .mutation(({ ctx, input }) => ctx.services.governance.decide(input.actionId, 'approved', decider(ctx.user), input.reason)),
  reject: authedProcedure
    .input(decisionInput)
    .mutation(({ ctx, input }) => ctx.services.governance.decide(input.actionId, 'rejected', decider(ctx.user), input.reason)),
  /** The requester (or an admin) takes back a pending action: it ends rejected, reason `withdrawn`. */
  withdraw: authedProcedure
    .input(decisionInput)
    .mutation(({ ctx, input }) => ctx.services.governance.withdraw(input.actionId, decider(ctx.user), input.reason)),
  /** Actions still waiting for the caller's decision (all pending actions for admins). */
  pending: authedProcedure.query(({ ctx }) => ctx.services.governance.pendingFor(decider(ctx.user))),
  get: authedProcedure.input(z.object({ actionId: idSchema })).query(({ ctx, input }) => {
    const action = ctx.services.governance.get(input.actionId);
    if (!action) throw new TRPCError({ code: 'NOT_FOUND', message: `No action ${input.actionId}` });
    const involved = action.approvers.includes(ctx.user.userId) || action.requesterId === ctx.user.userId;
    if (!involved && !canSeeAll(ctx.user)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Not your action' });
    return action;
  }),
  /** Producers request approval; the action waits until decided or expired. */
  request: producerProcedure
    .input(
      z.object({
        actionId: idSchema.optional(),
        action: z.string().min(1).max(limits.maxShortTextLength),
        description: z.string().max(limits.maxTextLength).optional(),
        agentId: idSchema.optional(),
        approvers: z.array(idSchema).min(1).max(limits.maxApprovers),
        expiresInMs: z.number().int().min(1).max(7 * 24 * 3_600_000).optional(),
        details: jsonValueSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => {
      const { actionId, description, agentId, expiresInMs, details, ...rest } = input;
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
});
