/** What every signed-in user may do: rooms, presence, typing and notifications. */
import { TRPCError, type TRPCMutationProcedure } from '@trpc/server';
import { z } from 'zod';
import { eventSchemas, presenceMetadataSchema } from '../../../shared/events.js';
import { selectablePresenceStatusSchema } from '../../../shared/presence.js';
import type { EventPublication, RealtimeEvent, RoomPublishableEventType } from '../../../shared/events.js';
import { idSchema, roomInput } from '../inputs.js';
import { idempotencyKeySchema, idempotent } from '../idempotent.js';
import { presenceVisible, unseen, visibleOnline } from '../presence-visibility.js';
import { typedPublication } from '../publish-input.js';
import { authedProcedure, producerProcedure, router } from '../trpc.js';

/** rooms.publish's input: `data` typed by `type`, among the collaboration types and the app's clientPublishable ones. */
export type RoomPublishInput = { roomId: string; idempotencyKey?: string | undefined } & EventPublication<RoomPublishableEventType>;

/**
 * Spelled out, so that the package's declarations name RoomPublishInput instead of inlining what
 * it was when the package was built (never: the package itself has no app events), and an app's
 * registered events reach this input like every other type.
 */
export type RoomPublishProcedure = TRPCMutationProcedure<{
  input: RoomPublishInput;
  output: { eventId: string; event: RealtimeEvent };
  meta: object;
}>;

/**
 * A member publishes `cursor.moved`, `selection.changed` or an app event type flagged
 * `clientPublishable` into the room (`senderId` is the caller, never input); ephemeral types are
 * coalesced and never stored (RealtimeCore.publishInput). Anything else is BAD_REQUEST; a non-member is FORBIDDEN.
 */
const publishToRoom: RoomPublishProcedure = authedProcedure
  .input(z.object({ roomId: idSchema, idempotencyKey: idempotencyKeySchema }).and(typedPublication<RoomPublishableEventType>()))
  .mutation(
    idempotent('rooms.publish', async ({ ctx, input }) => {
      const { core } = ctx.services;
      if (!core.catalog.isClientPublishable(input.type)) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `Members may not publish ${input.type}: only cursor.moved, selection.changed and app event types flagged clientPublishable`,
        });
      }
      await ctx.roomAccess.check(ctx.user, input.roomId, 'publish');
      if (!core.isRoomMember(input.roomId, ctx.user.userId)) {
        throw new TRPCError({ code: 'FORBIDDEN', message: `Not a member of room ${input.roomId}` });
      }
      // Beside the per-user limit every call pays: one room's publishes (a cursor at 60 Hz) are
      // bounded on their own, across processes with Redis (Pusher's client events do the same).
      const waitMs = await ctx.rateLimits.consume(`publish:${ctx.user.userId}\0${input.roomId}`);
      if (waitMs > 0) {
        throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Publishing into ${input.roomId} too fast; retry in ${waitMs} ms` });
      }
      const event = await core.publishInput({ roomId: input.roomId }, input.type, input.data, ctx.user.userId);
      return { eventId: event.id, event };
    }),
  );

export const roomsRouter = router({
  join: authedProcedure.input(roomInput).mutation(async ({ ctx, input }) => {
    await ctx.roomAccess.check(ctx.user, input.roomId, 'join');
    return ctx.services.core.joinRoom(ctx.user.userId, input.roomId);
  }),
  /** Always allowed: leaving needs no access. */
  leave: authedProcedure
    .input(roomInput)
    .mutation(async ({ ctx, input }) => ({ left: await ctx.services.core.leaveRoom(ctx.user.userId, input.roomId) })),
  get: authedProcedure.input(roomInput).query(async ({ ctx, input }) => {
    await ctx.roomAccess.check(ctx.user, input.roomId, 'read');
    const details = ctx.services.core.roomDetails(input.roomId);
    if (!details) throw new TRPCError({ code: 'NOT_FOUND', message: `No room ${input.roomId}` });
    return { ...details, typing: ctx.services.core.typingIn(input.roomId) };
  }),
  members: authedProcedure.input(roomInput).query(async ({ ctx, input }) => {
    await ctx.roomAccess.check(ctx.user, input.roomId, 'read');
    return ctx.services.core.roomMembers(input.roomId);
  }),
  /**
   * The room's stored history, newest first, durable types only (never cursors), kept for
   * HISTORY_RETENTION: for members the room admits (admins and services: any room).
   */
  history: authedProcedure
    .input(z.object({ roomId: idSchema, limit: z.number().int().min(1).max(200).default(50), cursor: z.string().max(32).optional() }))
    .query(async ({ ctx, input }) => {
      await ctx.roomAccess.check(ctx.user, input.roomId, 'read');
      if (ctx.user.role === 'user' && !ctx.services.core.isRoomMember(input.roomId, ctx.user.userId)) {
        throw new TRPCError({ code: 'FORBIDDEN', message: `Not a member of room ${input.roomId}` });
      }
      const { store } = ctx.services.core;
      await store.written();
      return store.roomHistory(input.roomId, { limit: input.limit, ...(input.cursor !== undefined && { cursor: input.cursor }) });
    }),
  /**
   * Members page by page, in user id order (`nextCursor` is the next page's `cursor`), with the
   * room's size and `mode`: `summary` when the room is past ROOM_PRESENCE_DETAIL_MAX, so its
   * `room.membership` events carry counts, not members.
   */
  memberPage: authedProcedure
    .input(z.object({ roomId: idSchema, cursor: idSchema.optional(), limit: z.number().int().min(1).max(1_000).default(100) }))
    .query(async ({ ctx, input }) => {
      await ctx.roomAccess.check(ctx.user, input.roomId, 'read');
      return ctx.services.core.roomMemberPage(input.roomId, input);
    }),
  /** The rooms the caller is in. */
  mine: authedProcedure.query(({ ctx }) => ctx.services.core.roomsOf(ctx.user.userId)),
  publish: publishToRoom,
});

export const presenceRouter = router({
  update: authedProcedure
    .input(z.object({ status: selectablePresenceStatusSchema, metadata: presenceMetadataSchema.optional() }))
    .mutation(({ ctx, input }) => ctx.services.core.updatePresence(ctx.user.userId, input.status, input.metadata)),
  /**
   * A user who shares no room with the caller reads as offline, never seen, without metadata
   * (admins and services see everyone): whether they are online elsewhere is not the caller's to know.
   */
  get: authedProcedure
    .input(z.object({ userId: idSchema }))
    .query(({ ctx, input }) => (presenceVisible(ctx.services.core, ctx.user, input.userId) ? ctx.services.core.presenceOf(input.userId) : unseen(input.userId))),
  /** The online users who share a room with the caller, and the caller (admins and services: everyone). */
  online: authedProcedure.query(({ ctx }) => visibleOnline(ctx.services.core, ctx.user)),
});

export const typingProcedure = authedProcedure
  .input(z.object({ roomId: idSchema, isTyping: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    await ctx.roomAccess.check(ctx.user, input.roomId, 'type');
    await ctx.services.core.setTyping(ctx.user.userId, input.roomId, input.isTyping);
    return { ok: true as const };
  });

export const notificationsRouter = router({
  /**
   * Marks one of the caller's notifications read on all the caller's devices. It publishes only
   * to the caller's own channel, so an id that is not theirs affects no one else.
   */
  markRead: authedProcedure.input(z.object({ notificationId: idSchema })).mutation(async ({ ctx, input }) => {
    const { core } = ctx.services;
    core.store.recordRead(ctx.user.userId, input.notificationId, new Date());
    const event = await core.sendToUser(ctx.user.userId, 'notification.read', { notificationId: input.notificationId }, ctx.user.userId);
    return { eventId: event.id };
  }),
  /** Marks every notification of the caller read, kept in the inbox and told to all their devices (`all: true`). */
  markAllRead: authedProcedure.mutation(async ({ ctx }) => {
    const { core } = ctx.services;
    core.store.recordRead(ctx.user.userId, undefined, new Date());
    const event = await core.sendToUser(ctx.user.userId, 'notification.read', { notificationId: 'all', all: true }, ctx.user.userId);
    return { eventId: event.id };
  }),
  /**
   * The caller's inbox from the durable store, newest first: `nextCursor` pages on, `unreadOnly`
   * leaves out what was read, `unreadCount` counts the whole inbox. Empty without a store.
   */
  list: authedProcedure
    .input(z.object({ limit: z.number().int().min(1).max(200).default(50), cursor: z.string().max(32).optional(), unreadOnly: z.boolean().optional() }))
    .query(async ({ ctx, input }) => {
      const { store } = ctx.services.core;
      await store.written();
      return store.notifications(ctx.user.userId, {
        limit: input.limit,
        ...(input.cursor !== undefined && { cursor: input.cursor }),
        ...(input.unreadOnly !== undefined && { unreadOnly: input.unreadOnly }),
      });
    }),
  /** Producers notify a user. */
  notify: producerProcedure
    .input(
      // The notification's own fields are the catalog's `notification.new` (shared/events.ts).
      z.object({ userId: idSchema, ...eventSchemas['notification.new'].shape, idempotencyKey: idempotencyKeySchema }),
    )
    .mutation(
      idempotent('notifications.notify', async ({ ctx, input }) => {
        const { userId, idempotencyKey: _key, ...data } = input;
        const event = await ctx.services.core.sendToUser(userId, 'notification.new', data, ctx.user.userId);
        return { eventId: event.id, notificationId: event.id };
      }),
    ),
});
