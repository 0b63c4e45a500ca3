/**
 * Type-level test of app events (`npm run typecheck` compiles this program): once an app
 * registers its events, the router, the vanilla client, the producer and every hook type an app
 * event's payload exactly as a built-in one's, with no cast, and admin.send / admin.broadcast /
 * rooms.publish pair `data` with `type`. Each `@ts-expect-error` line must fail to compile.
 */
import { expectTypeOf } from 'vitest';
import type { TRPCClient } from '@trpc/client';
import { z } from 'zod';
import type { RealtimeClient, RealtimeEvent, RouterInputs } from '../../client/index.js';
import { useEvent } from '../../client/react/index.js';
import type { AppRouter } from '../../server/index.js';
import { createRealtimeServer } from '../../server/index.js';
import type { EventType } from '../../shared/index.js';
import { appEvents } from './events.js';

declare const client: RealtimeClient;
declare const api: TRPCClient<AppRouter>;

type ChatMessage = { text: string; replyTo?: string | undefined };

// The catalog's names include the app's.
expectTypeOf<'chat.message'>().toExtend<EventType>();
expectTypeOf<'agent.progress'>().toExtend<EventType>();

// Hooks: the handler gets the app payload, narrowed by type.
useEvent('chat.message', (event) => {
  expectTypeOf(event.type).toEqualTypeOf<'chat.message'>();
  expectTypeOf(event.data).toEqualTypeOf<ChatMessage>();
  // @ts-expect-error chat.message has no progress
  void event.data.progress;
});
useEvent(['chat.message', 'agent.progress'], (event) => {
  if (event.type === 'chat.message') expectTypeOf(event.data.text).toEqualTypeOf<string>();
  else expectTypeOf(event.data.progress).toEqualTypeOf<number>();
});
// @ts-expect-error not an event type, app or built-in
useEvent('chat.mesage', () => {});

// The vanilla client's streams.
client.subscribeToEvents({ types: ['board.card_moved'] }, (event) => {
  expectTypeOf(event.data.column).toEqualTypeOf<'todo' | 'doing' | 'done'>();
});
client.subscribeToRoom('project:1', (event) => {
  if (event.type === 'cursor.at') expectTypeOf(event.data).toEqualTypeOf<{ x: number; y: number }>();
});

// The router's subscription outputs (what the official client's onData receives).
api.onRoom.subscribe(
  { roomId: 'project:1' },
  {
    onData: ({ data: event }) => {
      expectTypeOf(event).toExtend<RealtimeEvent>();
      if (event.type === 'chat.message') expectTypeOf(event.data).toEqualTypeOf<ChatMessage>();
    },
  },
);

// Publishing: data typed by type.
void client.broadcast('chat.message', { text: 'hello' }, { roomId: 'project:1' });
// @ts-expect-error text must be a string
void client.broadcast('chat.message', { text: 42 }, { roomId: 'project:1' });
void api.admin.send.mutate({ userId: 'alice', type: 'chat.message', data: { text: 'hi' } });
// @ts-expect-error an unknown key in chat.message's data
void api.admin.send.mutate({ userId: 'alice', type: 'chat.message', data: { text: 'hi', colour: 'red' } });
// @ts-expect-error a built-in payload under an app type
void api.admin.broadcast.mutate({ type: 'chat.message', data: { progress: 3, agentId: 'a' } });
void api.rooms.publish.mutate({ roomId: 'project:1', type: 'cursor.at', data: { x: 1, y: 2 } });
// @ts-expect-error board.card_moved is not clientPublishable
void api.rooms.publish.mutate({ roomId: 'project:1', type: 'board.card_moved', data: { cardId: 'c', column: 'done' } });
// @ts-expect-error built-in types are never published by members
void api.rooms.publish.mutate({ roomId: 'project:1', type: 'notification.new', data: { title: 't', message: 'm' } });
expectTypeOf<RouterInputs['rooms']['publish']['type']>().toEqualTypeOf<'chat.message' | 'cursor.at' | 'cursor.moved' | 'selection.changed'>();

// createRealtimeServer: the events given are checked against the built-ins and the registry.
createRealtimeServer({ authSecret: 'x'.repeat(16), events: appEvents });
createRealtimeServer({
  authSecret: 'x'.repeat(16),
  // @ts-expect-error a built-in name
  events: { 'agent.progress': { schema: z.object({}) } },
});
createRealtimeServer({
  authSecret: 'x'.repeat(16),
  // @ts-expect-error not registered for the compiler
  events: { 'todo.added': { schema: z.object({ title: z.string() }) } },
});

// The producer publishes app events, typed the same way.
declare const producer: import('../../client/producer.js').ProducerClient;
void producer.broadcast('chat.message', { text: 'from a worker' }, { roomId: 'project:1' });
void producer.sendToUser('alice', 'board.card_moved', { cardId: 'c', column: 'doing' });
// @ts-expect-error column is one of todo, doing, done
void producer.sendToUser('alice', 'board.card_moved', { cardId: 'c', column: 'later' });

// tRPC's React Query hooks (the provider's `trpc`) carry the app events as well.
import { trpc } from '../../client/react/index.js';
const publishToRoom = trpc.rooms.publish.useMutation();
publishToRoom.mutate({ roomId: 'project:1', type: 'chat.message', data: { text: 'typed' } });
// @ts-expect-error text must be a string
publishToRoom.mutate({ roomId: 'project:1', type: 'chat.message', data: { text: 1 } });
