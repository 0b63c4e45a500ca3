/**
 * The five live streams. Each decides what the caller may see (channels, types, filters) and
 * returns an EventStream; delivery is the transport's business.
 */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import type { AgentEventType, EventType, GovernanceEventType } from '../../../shared/events.js';
import { agentEventTypes, eventTypes, governanceEventTypes } from '../../../shared/events.js';
import { channels } from '../../core/channels.js';
import { firehoseChannel } from '../../core/channels.js';
import type { ApiContext } from '../context.js';
import type { AuthUser } from '../auth.js';
import type { EventTransform } from '../../core/core-subscriptions.js';
import { isTerminalAgentStatus } from '../../../shared/folds/agent-runs.js';
import type { OutputRuns } from '../../core/agent-output.js';
import { EventStream, streamConnection, type StreamGuard, type StreamSpec } from '../event-stream.js';
import { eventTypesSchema, idSchema, lastEventIdSchema } from '../inputs.js';
import { authedProcedure } from '../trpc.js';

type Ctx = ApiContext & { user: AuthUser };

async function stream<T extends EventType>(ctx: Ctx, spec: StreamSpec, signal: AbortSignal | undefined, guard?: StreamGuard): Promise<EventStream<T>> {
  const connection = streamConnection(ctx.connectionId, ctx.user);
  const created = new EventStream<T>(ctx.services.core, connection, spec, signal, guard);
  // Over SSE the stream is its own connection: registered before the client hears it started.
  if (connection.registerWithCore) await created.open();
  return created;
}

const resume = (lastEventId: string | undefined) => (lastEventId === undefined ? {} : { lastEventId });
const notificationTypes = new Set<EventType>(eventTypes.filter((type) => type.startsWith('notification.') || type.startsWith('system.')));
const watchesEverything = (ctx: Ctx) => ctx.user.role === 'admin' || ctx.user.role === 'service';
/** A room stream the revocation sweep can end (`roomId`: the room an onRoom stream holds). */
const revocable = (ctx: Ctx, roomId?: string): StreamGuard => ({
  watch: (stream) => ctx.roomAccessSweep.watch({ user: ctx.user, ...(roomId !== undefined && { roomId }), end: (error) => stream.end(error) }),
});

/**
 * Each run's text reaches the subscriber exactly once: what it lacks as one `agent.output` (after
 * any replay), then live deltas. `runs`: the agents whose text a late subscriber is given at once.
 */
function outputTransform(ctx: Ctx, lastEventId: string | undefined, runs: OutputRuns): EventTransform {
  return ctx.services.agents.outputCursor(lastEventId, runs);
}

/**
 * A room's live runs (a finished run's text is read through onAgent({ agentId })). It closes over
 * the agent service, not the call's context: the subscription keeps it for its life (issue 17).
 */
const liveRunsOf = (agents: Ctx['services']['agents'], roomId: string) => () =>
  agents
    .list({ roomId })
    .filter((run) => !isTerminalAgentStatus(run.status))
    .map((run) => run.agentId);

/** Up to `count` of the room's stored events, oldest first (read once everything queued before is written). */
async function rewindRoom(ctx: Ctx, roomId: string, count: number) {
  const { store } = ctx.services.core;
  await store.written();
  return (await store.roomHistory(roomId, { limit: count })).items.reverse();
}

export const subscriptionProcedures = {
  /**
   * Where "now" is in the event stream. Subscribe with it as `lastEventId` and a disconnect
   * before the first event still resumes without loss (the official client only tracks ids it
   * has received).
   */
  streamHead: authedProcedure.query(({ ctx }) => ({ lastEventId: ctx.services.bus.headEventId() ?? null })),

  /** Every event of a room; the caller is a member of the room while subscribed. */
  onRoom: authedProcedure
    .input(z.object({ roomId: idSchema, lastEventId: lastEventIdSchema, rewind: z.number().int().min(0).max(1_000).optional() }))
    .subscription(async ({ ctx, input, signal }) => {
      await ctx.roomAccess.check(ctx.user, input.roomId, 'subscribe');
      // A connection's token and OPEN_ROOMS never change under a live stream: only what the
      // authorizer admitted can be taken back, so only that is watched (nothing kept otherwise).
      const guard = ctx.roomAccess.admitsStatically(ctx.user, input.roomId) ? undefined : revocable(ctx, input.roomId);
      const transform = outputTransform(ctx, input.lastEventId, liveRunsOf(ctx.services.agents, input.roomId));
      const { rewind } = input;
      const spec: StreamSpec = { channels: [channels.room(input.roomId)], holdRoom: input.roomId, transform, ...resume(input.lastEventId) };
      if (rewind) spec.rewind = () => rewindRoom(ctx, input.roomId, rewind);
      return stream<EventType>(ctx, spec, signal, guard);
    }),

  /**
   * Agent events: the caller's own agents (all agents for admins and services), optionally one
   * agent; with `roomId`, the runs of that room (its members, under room access). With `agentId`
   * and no `lastEventId`, the current run is replayed from its start first, so a late subscriber
   * holds the run's state before live events arrive; its text comes as one `agent.output`.
   */
  onAgent: authedProcedure
    .input(z.object({ agentId: idSchema.optional(), roomId: idSchema.optional(), lastEventId: lastEventIdSchema }).optional())
    .subscription(async ({ ctx, input, signal }) => {
      const agentId = input?.agentId;
      const { agents } = ctx.services;
      const runStart = agentId === undefined ? undefined : agents.replayPointOf(agentId);
      // On a Redis Cluster the run's events are in several partitions: a cursor from its start names them all.
      const lastEventId = input?.lastEventId ?? (runStart === undefined ? undefined : (ctx.services.bus.cursors?.from(runStart) ?? runStart));
      // A run in a room is watched through the room: by a member who asks for the room, or for the run.
      const run = agentId === undefined ? undefined : agents.get(agentId);
      const roomId = input?.roomId ?? (run?.roomId !== undefined && run.ownerId !== ctx.user.userId && !watchesEverything(ctx) ? run.roomId : undefined);
      if (roomId !== undefined) await ctx.roomAccess.check(ctx.user, roomId, 'subscribe');
      const guard = roomId === undefined || ctx.roomAccess.admitsStatically(ctx.user, roomId) ? undefined : revocable(ctx, roomId);
      const ownChannel = watchesEverything(ctx) ? channels.agents : channels.user(ctx.user.userId);
      return stream<AgentEventType>(
        ctx,
        {
          channels: roomId === undefined ? [ownChannel] : [channels.room(roomId)],
          types: new Set(agentEventTypes),
          ...(agentId !== undefined && { accept: (event) => (event.data as { agentId?: string }).agentId === agentId }),
          transform: outputTransform(ctx, lastEventId, agentId !== undefined ? [agentId] : roomId !== undefined ? liveRunsOf(ctx.services.agents, roomId) : []),
          ...resume(lastEventId),
        },
        signal,
        guard,
      );
    }),

  /** Governance events the caller takes part in (all of them for admins and services). */
  onGovernance: authedProcedure
    .input(z.object({ lastEventId: lastEventIdSchema }).optional())
    .subscription(({ ctx, input, signal }) =>
      stream<GovernanceEventType>(
        ctx,
        {
          channels: [watchesEverything(ctx) ? channels.governance : channels.user(ctx.user.userId)],
          types: new Set(governanceEventTypes),
          ...resume(input?.lastEventId),
        },
        signal,
      ),
    ),

  /** The caller's notification.* events and system.* broadcasts. */
  onNotification: authedProcedure
    .input(z.object({ lastEventId: lastEventIdSchema }).optional())
    .subscription(({ ctx, input, signal }) =>
      stream<Extract<EventType, `notification.${string}` | `system.${string}`>>(
        ctx,
        { channels: [channels.user(ctx.user.userId), channels.everyone], types: notificationTypes, ...resume(input?.lastEventId) },
        signal,
      ),
    ),

  /**
   * Everything addressed to the caller: direct sends, broadcasts to everyone and the rooms the
   * caller is in. `scope: 'all'` (admins) is the firehose of every event in the service.
   */
  onEvent: authedProcedure
    .input(z.object({ types: eventTypesSchema, scope: z.enum(['mine', 'all']).default('mine'), lastEventId: lastEventIdSchema }).optional())
    .subscription(async ({ ctx, input, signal }) => {
      input?.types?.forEach((type, index) => ctx.services.core.catalog.checkType(type, ['types', index]));
      const types = input?.types ? new Set<EventType>(input.types) : undefined;
      if (input?.scope === 'all') {
        if (ctx.user.role !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: "scope 'all' requires role admin" });
        return stream<EventType>(ctx, { channels: [firehoseChannel], ...(types && { types }), ...resume(input.lastEventId) }, signal);
      }
      const rooms = ctx.roomAccess.followFilter(ctx.user);
      await rooms.prime(ctx.services.core.roomsOf(ctx.user.userId));
      return stream<EventType>(
        ctx,
        {
          channels: [channels.user(ctx.user.userId), channels.everyone],
          followRoomsOfUser: true,
          // Membership was checked when it began; this connection's own token may admit less
          // (refreshed without the room), and the sweep keeps the authorizer's answers current.
          followsRoom: rooms.follows,
          ...(types && { types }),
          ...resume(input?.lastEventId),
        },
        signal,
        revocable(ctx),
      );
    }),
};
