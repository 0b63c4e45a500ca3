/**
 * Durable state across a restart (issue 21), against a real PostgreSQL (a throwaway database on
 * the machine's server) and against PGlite (a data directory of the test's own): inboxes with read
 * state and paging, the governance audit trail, finished agent runs and room history (with
 * onRoom's rewind, and cursors never stored) are all there after the service is started again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../server/config.js';
import { collect, ofType } from '../support/collect.js';
import { createThrowawayDatabase, requirePostgres, type ThrowawayDatabase } from '../support/postgres.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const hasPostgres = await requirePostgres();

interface Backend {
  name: string;
  enabled: boolean;
  setUp(): Promise<Partial<ServerConfig>>;
  tearDown(): Promise<void>;
}

let database: ThrowawayDatabase | undefined;
let directory: string | undefined;
const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    enabled: hasPostgres,
    async setUp() {
      database = await createThrowawayDatabase();
      return { databaseUrl: database.url };
    },
    tearDown: async () => database?.drop(),
  },
  {
    name: 'PGlite',
    enabled: true,
    async setUp() {
      directory = mkdtempSync(join(tmpdir(), 'rt-pglite-'));
      return { dataDir: directory };
    },
    tearDown: async () => {
      if (directory) rmSync(directory, { recursive: true, force: true });
    },
  },
];

describe.each(backends)('durable state on $name', (backend) => {
  let config: Partial<ServerConfig>;
  let t: TestServer;
  const before: Record<string, unknown> = {};

  beforeAll(async () => {
    if (!backend.enabled) return;
    config = await backend.setUp();
    t = await startServer(config);
  }, 120_000);
  afterAll(async () => {
    if (!backend.enabled) return;
    await t?.stop();
    await backend.tearDown();
  });

  it.skipIf(!backend.enabled)('keeps inboxes, the audit trail, finished runs and room history across a restart', async () => {
    const worker = t.connect(await t.token('worker-21', 'service')).api;
    const alice = t.connect(await t.token('alice-21')).api;
    const admin = t.connect(await t.token('admin-21', 'admin')).api;

    // Inbox: three notifications, one read; pages of two, newest first.
    const ids: string[] = [];
    for (const title of ['first', 'second', 'third']) ids.push((await worker.notifications.notify.mutate({ userId: 'alice-21', title, message: `${title} note` })).notificationId);
    await alice.notifications.markRead.mutate({ notificationId: ids[0]! });
    const firstPage = await alice.notifications.list.query({ limit: 2 });
    expect(firstPage.items.map((item) => item.data.title)).toEqual(['third', 'second']);
    expect(firstPage.unreadCount).toBe(2);
    const secondPage = await alice.notifications.list.query({ limit: 2, cursor: firstPage.nextCursor! });
    expect(secondPage).toMatchObject({ items: [{ id: ids[0], read: true }], nextCursor: null });
    expect((await alice.notifications.list.query({ limit: 10, unreadOnly: true })).items.map((item) => item.id)).toEqual([ids[2], ids[1]]);
    // Someone else's inbox stays theirs.
    expect((await admin.notifications.list.query({ limit: 10 })).items).toEqual([]);

    // Audit trail: a request and its decision, with reason and decider.
    const { actionId } = await worker.governance.request.mutate({ action: 'deploy', approvers: ['alice-21'] });
    await alice.governance.approve.mutate({ actionId, reason: 'looks right' });
    const { actionId: waiting } = await worker.governance.request.mutate({ action: 'rollback', approvers: ['alice-21'], expiresInMs: 600_000 });
    const decided = await alice.governance.history.query({ limit: 10 });
    expect(decided.items).toMatchObject([{ actionId, status: 'approved', decidedBy: 'alice-21', reason: 'looks right', requesterId: 'worker-21' }]);

    // A finished run with its output.
    await worker.agents.emit.mutate({ agentId: 'agent-21', userId: 'alice-21', type: 'agent.started', data: { task: 'write' } });
    await worker.agents.emit.mutate({ agentId: 'agent-21', userId: 'alice-21', type: 'agent.output', data: { delta: 'hello ' } });
    await worker.agents.emit.mutate({ agentId: 'agent-21', userId: 'alice-21', type: 'agent.output', data: { delta: 'world' } });
    await worker.agents.emit.mutate({ agentId: 'agent-21', userId: 'alice-21', type: 'agent.complete', data: { result: { words: 2 } } });

    // Room history: three durable events and a cursor (ephemeral: never stored).
    await alice.rooms.join.mutate({ roomId: 'project:21' });
    for (const change of ['a', 'b', 'c']) await admin.admin.broadcast.mutate({ roomId: 'project:21', type: 'sphere.updated', data: { changed: [change] } });
    await alice.rooms.publish.mutate({ roomId: 'project:21', type: 'cursor.moved', data: { x: 1, y: 2 } });
    const history = await alice.rooms.history.query({ roomId: 'project:21', limit: 2 });
    expect(history.items.map((event) => event.data)).toEqual([{ changed: ['c'] }, { changed: ['b'] }]);
    const older = await alice.rooms.history.query({ roomId: 'project:21', limit: 2, cursor: history.nextCursor! });
    expect(older).toMatchObject({ items: [{ data: { changed: ['a'] } }], nextCursor: null });
    // Members only.
    const stranger = t.connect(await t.token('stranger-21')).api;
    await expect(stranger.rooms.history.query({ roomId: 'project:21', limit: 2 })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });

    before.inbox = await alice.notifications.list.query({ limit: 10 });
    before.audit = decided;
    before.room = await alice.rooms.history.query({ roomId: 'project:21', limit: 10 });
    before.actionId = actionId;

    // The restart: a new service over the same database.
    await t.stop();
    t = await startServer(config);
    const aliceAgain = t.connect(await t.token('alice-21')).api;
    expect(await aliceAgain.notifications.list.query({ limit: 10 })).toEqual(before.inbox);
    expect(await aliceAgain.governance.history.query({ limit: 10 })).toEqual(before.audit);
    expect(await aliceAgain.governance.get.query({ actionId })).toMatchObject({ status: 'approved', decidedBy: 'alice-21', reason: 'looks right' });
    // What was pending waits again, and may be decided after the restart.
    expect((await aliceAgain.governance.pending.query()).map((action) => action.actionId)).toEqual([waiting]);
    await aliceAgain.governance.reject.mutate({ actionId: waiting, reason: 'not now' });
    expect((await aliceAgain.governance.history.query({ limit: 10 })).items.map((action) => [action.actionId, action.status])).toEqual([
      [waiting, 'rejected'],
      [actionId, 'approved'],
    ]);
    expect(await aliceAgain.agents.list.query()).toMatchObject([{ agentId: 'agent-21', status: 'complete', result: { words: 2 }, output: 'hello world' }]);
    expect(await aliceAgain.agents.get.query({ agentId: 'agent-21' })).toMatchObject({ status: 'complete', output: 'hello world' });
    await aliceAgain.rooms.join.mutate({ roomId: 'project:21' });
    expect(await aliceAgain.rooms.history.query({ roomId: 'project:21', limit: 10 })).toEqual(before.room);

    // Read state persists and reaches every device: markAllRead.
    await aliceAgain.notifications.markAllRead.mutate();
    expect((await aliceAgain.notifications.list.query({ limit: 10 })).unreadCount).toBe(0);

    // onRoom({ rewind }): the two latest stored events first, then live ones, each once.
    const adminAgain = t.connect(await t.token('admin-21', 'admin')).api;
    const watcher = collect(aliceAgain.onRoom, { roomId: 'project:21', rewind: 2 });
    await waitFor(() => watcher.events.length >= 2, 'the rewind');
    await adminAgain.admin.broadcast.mutate({ roomId: 'project:21', type: 'sphere.updated', data: { changed: ['d'] } });
    await waitFor(() => ofType(watcher.events, 'sphere.updated').length >= 3, 'the live event');
    expect(ofType(watcher.events, 'sphere.updated').map((event) => event.data)).toEqual([{ changed: ['b'] }, { changed: ['c'] }, { changed: ['d'] }]);
    watcher.unsubscribe();
  }, 120_000);

  it.skipIf(!backend.enabled)('resumes a rewound subscription that lost its connection with lastEventId, nothing twice', async () => {
    // Published in the process: dropping every connection below must not drop the publisher.
    const publish = (change: string) => t.server.services.core.broadcastToRoom('project:rewind', 'sphere.updated', { changed: [change] });
    await publish('a');
    await publish('b');
    const alice = t.connect(await t.token('alice-rewind'), { retryDelayMs: 20 }).api;
    const watcher = collect(alice.onRoom, { roomId: 'project:rewind', rewind: 10 });
    const changes = () => ofType(watcher.events, 'sphere.updated').map((event) => (event.data as { changed: string[] }).changed[0]);
    await waitFor(() => changes().length === 2, 'the rewind');
    await publish('c');
    await waitFor(() => changes().length === 3, 'a live event');
    t.dropAll();
    await publish('d');
    await waitFor(() => changes().length === 4, 'the event published while reconnecting');
    await publish('e');
    await waitFor(() => changes().length === 5, 'live again');
    expect(changes()).toEqual(['a', 'b', 'c', 'd', 'e']);
    watcher.unsubscribe();
  });

  it.skipIf(!backend.enabled)('prunes room history past the retention', async () => {
    const { store } = t.server.services.core;
    const admin = t.connect(await t.token('admin-21', 'admin')).api;
    await admin.admin.broadcast.mutate({ roomId: 'project:prune', type: 'sphere.updated', data: { changed: ['old'] } });
    await store.written();
    expect((await store.roomHistory('project:prune', { limit: 10 })).items).toHaveLength(1);
    // As the sweep does when the retention has passed: everything older than "now" goes.
    expect(await store.pruneRoomHistory(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    expect((await store.roomHistory('project:prune', { limit: 10 })).items).toEqual([]);
  });
});
