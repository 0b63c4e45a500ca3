/** Operator queries and mutations (role admin): statistics, rooms, presence, history, publishing. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { eventTypeSchema, publishableEventTypeSchema, workflowProcedureOf, type EventType } from '../../../shared/events.js';
import { idSchema } from '../inputs.js';
import { idempotencyKeySchema, idempotent } from '../idempotent.js';
import { adminProcedure, router } from '../trpc.js';

const publishInput = { type: publishableEventTypeSchema, data: z.unknown(), idempotencyKey: idempotencyKeySchema };

/** FORBIDDEN for workflow event types, naming the procedure that publishes them (shared/events). */
function refuseWorkflowEvent(procedure: string, type: EventType): void {
  const through = workflowProcedureOf(type);
  if (through) throw new TRPCError({ code: 'FORBIDDEN', message: `${procedure} cannot publish ${type}: it is published through ${through}` });
}

export const adminRouter = router({
  /** For the whole service; with several processes, `processes` breaks connections and subscriptions down per process. */
  stats: adminProcedure.query(async ({ ctx }) => {
    const { core } = ctx.services;
    return {
      ...core.stats(),
      rateLimited: ctx.rateLimits.rejected,
      uptimeSeconds: Math.round(process.uptime()),
      processes: (await core.membership.processes?.()) ?? [
        { processId: 'embedded', stats: { connections: core.localConnectionCount, subscriptions: core.stats().subscriptions } },
      ],
    };
  }),

  rooms: adminProcedure.query(({ ctx }) => ctx.services.core.listRooms()),

  presence: adminProcedure.query(({ ctx }) => ctx.services.core.allPresence()),

  history: adminProcedure
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(1000).optional(),
          type: eventTypeSchema.optional(),
          roomId: idSchema.optional(),
          userId: idSchema.optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => ctx.services.core.history(input ?? {})),

  /** To one room, or (no roomId) to every connected user. */
  broadcast: adminProcedure
    .input(z.object({ roomId: idSchema.optional(), ...publishInput }))
    .mutation(
      idempotent('admin.broadcast', async ({ ctx, input }) => {
        refuseWorkflowEvent('admin.broadcast', input.type);
        const { core } = ctx.services;
        const event =
          input.roomId === undefined
            ? await core.broadcastToAll(input.type, input.data as never, ctx.user.userId)
            : await core.broadcastToRoom(input.roomId, input.type, input.data as never, ctx.user.userId);
        return { eventId: event.id, event };
      }),
    ),

  send: adminProcedure.input(z.object({ userId: idSchema, ...publishInput })).mutation(
    idempotent('admin.send', async ({ ctx, input }) => {
      refuseWorkflowEvent('admin.send', input.type);
      const event = await ctx.services.core.sendToUser(input.userId, input.type, input.data as never, ctx.user.userId);
      return { eventId: event.id, event };
    }),
  ),
});
