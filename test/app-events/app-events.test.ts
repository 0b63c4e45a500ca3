/**
 * App events at run time, against a real server made with `createRealtimeServer({ authSecret,
 * events })` (defaults for everything else) and the official client: validated on publish,
 * delivered through the subscriptions like built-ins, members publish the clientPublishable
 * ones, ephemeral ones are never replayed, and a name that collides with the catalog fails at
 * start. Compiled with the app's events registered (test/app-events/tsconfig.json).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { createProducerClient } from '../../client/producer.js';
import { createRealtimeServer, type RealtimeServer } from '../../server/index.js';
import { collect } from '../support/collect.js';
import { httpClient, wsClient, type TestClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';
import { appEvents } from './events.js';

const authSecret = 'app-events-secret-0123456789';
let server: RealtimeServer;
let url: string;
let wsUrl: string;
const clients: TestClient[] = [];
const token = (userId: string, role: 'user' | 'admin' = 'user') => server.tokens.sign(userId, role, '1h', { rooms: ['*'] });
const connect = async (userId: string) => {
  const client = wsClient(wsUrl, await token(userId));
  clients.push(client);
  return client.api;
};

beforeAll(async () => {
  server = createRealtimeServer({ authSecret, events: appEvents, config: { port: 0 } });
  ({ url, wsUrl } = await server.listen());
});
afterAll(async () => {
  for (const client of clients) client.close();
  await server.close();
});

describe('app events', () => {
  it('refuses names that collide with the built-in catalog at start, with a clear error', () => {
    const make = (name: string) => () =>
      createRealtimeServer({ authSecret, events: { [name]: { schema: z.object({}) } } as never, config: { port: 0 } });
    expect(make('agent.progress')).toThrow(/collides with the built-in event type/);
    expect(make('agent.custom')).toThrow(/built-in category "agent\."/);
    expect(make('Chat Message')).toThrow(/not a valid name/);
  });

  it('delivers an app event published by an admin to a room, typed, and refuses a wrong payload with its zod issues', async () => {
    const alice = await connect('alice');
    const room = collect(alice.onRoom, { roomId: 'project:1' });
    const everything = collect(alice.onEvent, { types: ['chat.message'] });
    await waitFor(() => room.started && everything.started, 'subscribed');
    const admin = httpClient(url, await token('root', 'admin'));
    await admin.admin.broadcast.mutate({ roomId: 'project:1', type: 'chat.message', data: { text: 'hello' } });
    await waitFor(() => everything.events.length === 1, 'onEvent got the app event');
    await waitFor(() => room.events.some((event) => event.type === 'chat.message'), 'onRoom got the app event');
    expect(everything.events[0]).toMatchObject({ type: 'chat.message', data: { text: 'hello' }, roomId: 'project:1', senderId: 'root' });

    const wrong = { type: 'chat.message', data: { text: 42 } } as unknown as { type: 'chat.message'; data: { text: string } };
    await expect(admin.admin.send.mutate({ userId: 'alice', ...wrong })).rejects.toMatchObject({
      data: { code: 'BAD_REQUEST', zodIssues: [expect.objectContaining({ path: ['text'] })] },
    });
    await expect(server.services.core.broadcastToAll('board.card_moved', { cardId: 'c', column: 'done' })).resolves.toMatchObject({ type: 'board.card_moved' });
  });

  it('lets room members publish clientPublishable app events, and nothing else', async () => {
    const bob = await connect('bob');
    const carol = await connect('carol');
    const room = collect(carol.onRoom, { roomId: 'project:2' });
    await waitFor(() => room.started, 'carol subscribed');
    await expect(bob.rooms.publish.mutate({ roomId: 'project:2', type: 'chat.message', data: { text: 'not yet' } })).rejects.toMatchObject({
      data: { code: 'FORBIDDEN' },
    });
    await bob.rooms.join.mutate({ roomId: 'project:2' });
    const { eventId } = await bob.rooms.publish.mutate({ roomId: 'project:2', type: 'chat.message', data: { text: 'hi carol' } });
    await waitFor(() => room.events.some((event) => event.id === eventId), 'carol got it');
    expect(room.events.find((event) => event.id === eventId)).toMatchObject({ senderId: 'bob', data: { text: 'hi carol' } });
    const notPublishable = { type: 'board.card_moved', data: { cardId: 'c', column: 'todo' } } as unknown as { type: 'chat.message'; data: { text: string } };
    await expect(bob.rooms.publish.mutate({ roomId: 'project:2', ...notPublishable })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });

  it('lets a producer (role service) publish app events, typed', async () => {
    const erin = await connect('erin');
    const inbox = collect(erin.onEvent, { types: ['board.card_moved'] });
    await waitFor(() => inbox.started, 'erin subscribed');
    const producer = createProducerClient({ url, token: await server.tokens.sign('worker', 'service', '1h'), WebSocket, retry: false });
    try {
      const { eventId } = await producer.sendToUser('erin', 'board.card_moved', { cardId: 'c-1', column: 'doing' });
      await waitFor(() => inbox.events.some((event) => event.id === eventId), 'erin got it');
      expect(inbox.events[0]).toMatchObject({ data: { cardId: 'c-1', column: 'doing' }, senderId: 'worker' });
    } finally {
      await producer.close();
    }
  });

  it('never replays an ephemeral app event nor lists it in admin.history', async () => {
    const dave = await connect('dave');
    await dave.rooms.join.mutate({ roomId: 'project:3' });
    const { lastEventId } = await dave.streamHead.query();
    await dave.rooms.publish.mutate({ roomId: 'project:3', type: 'cursor.at', data: { x: 1, y: 2 } });
    await dave.rooms.publish.mutate({ roomId: 'project:3', type: 'chat.message', data: { text: 'kept' } });
    const resumed = collect(dave.onRoom, { roomId: 'project:3', lastEventId: lastEventId ?? undefined });
    await waitFor(() => resumed.events.some((event) => event.type === 'chat.message'), 'replayed');
    expect(resumed.events.map((event) => event.type)).not.toContain('cursor.at');
    const admin = httpClient(url, await token('root', 'admin'));
    expect(await admin.admin.history.query({ roomId: 'project:3' })).not.toContainEqual(expect.objectContaining({ type: 'cursor.at' }));
    await expect(admin.admin.history.query({ type: 'chat.mesage' as 'chat.message' })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
  });
});
