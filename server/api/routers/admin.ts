/**
 * Operator queries and mutations (role admin): statistics, rooms, presence, history, send and
 * broadcast. Backends (role service) publish the same way through `events.send` / `events.broadcast`.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { workflowProcedureOf, type PublishableEventType } from '../../../shared/events.js';
import { eventTypeNameSchema, idSchema } from '../inputs.js';
import { idempotencyKeySchema, idempotent } from '../idempotent.js';
import { typedPublication } from '../publish-input.js';
import { adminProcedure, producerProcedure, router } from '../trpc.js';

/** `data` typed by `type` for callers (built-in and app types); checked against the catalog here and in the core. */
const publication = typedPublication<PublishableEventType>();

/** FORBIDDEN for workflow event types, naming the procedure that publishes them (shared/events). */
function refuseWorkflowEvent(procedure: string, type: string): void {
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
          type: eventTypeNameSchema.optional(),
          roomId: idSchema.optional(),
          userId: idSchema.optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => {
      if (input?.type !== undefined) ctx.services.core.catalog.checkType(input.type, ['type']);
      return ctx.services.core.history(input ?? {});
    }),

  /** To one room, or (no roomId) to every connected user. */
  broadcast: broadcastProcedure(adminProcedure, 'admin.broadcast'),
  /** To one user, on all their connections. */
  send: sendProcedure(adminProcedure, 'admin.send'),
});

/**
 * Publishing for backends (role service, and admins): the same as `admin.send` and
 * `admin.broadcast`, which stay the operators'. The producer client uses these.
 */
export const eventsRouter = router({
  broadcast: broadcastProcedure(producerProcedure, 'events.broadcast'),
  send: sendProcedure(producerProcedure, 'events.send'),
});

function broadcastProcedure(procedure: typeof producerProcedure, name: string) {
  return procedure.input(z.object({ roomId: idSchema.optional(), idempotencyKey: idempotencyKeySchema }).and(publication)).mutation(
    idempotent(name, async ({ ctx, input }) => {
      refuseWorkflowEvent(name, input.type);
      const { core } = ctx.services;
      core.catalog.checkType(input.type, ['type'], { publishable: true });
      const target = input.roomId === undefined ? 'everyone' : { roomId: input.roomId };
      const event = await core.publishInput(target, input.type, input.data, ctx.user.userId);
      return { eventId: event.id, event };
    }),
  );
}

function sendProcedure(procedure: typeof producerProcedure, name: string) {
  return procedure.input(z.object({ userId: idSchema, idempotencyKey: idempotencyKeySchema }).and(publication)).mutation(
    idempotent(name, async ({ ctx, input }) => {
      refuseWorkflowEvent(name, input.type);
      const { core } = ctx.services;
      core.catalog.checkType(input.type, ['type'], { publishable: true });
      const event = await core.publishInput({ userId: input.userId }, input.type, input.data, ctx.user.userId);
      return { eventId: event.id, event };
    }),
  );
}
