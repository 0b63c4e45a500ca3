/**
 * Two processes over one Redis (a redis-server of the test's own) and one PostgreSQL (a throwaway
 * database), as a cluster runs (issue 21): each event is written once, by the process that
 * published it, and either process reads the same inbox, audit trail and room history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createThrowawayDatabase, requirePostgres, type ThrowawayDatabase } from '../support/postgres.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis() && (await requirePostgres());

describe.skipIf(!enabled)('one database shared by two processes', () => {
  let redis: TestRedis;
  let database: ThrowawayDatabase;
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    redis = await startRedis();
    database = await createThrowawayDatabase();
    const config = { redisUrl: redis.url, redisPrefix: 'shared-db', databaseUrl: database.url };
    first = await startServer(config);
    second = await startServer(config);
  }, 60_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await database?.drop();
    await redis?.close();
  });

  async function count(table: string): Promise<number> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // `table` is one of this test's literals, never input.
      return Number((await client.query<{ count: string }>(`select count(*) from ${table}`)).rows[0]!.count);
    } finally {
      await client.end();
    }
  }

  it('writes each event once and reads the same from either process', async () => {
    const worker = first.connect(await first.token('worker-shared', 'service')).api;
    const admin = second.connect(await second.token('admin-shared', 'admin')).api;
    const aliceOnSecond = second.connect(await second.token('alice-shared')).api;
    const { notificationId } = await worker.notifications.notify.mutate({ userId: 'alice-shared', title: 'once', message: 'one row' });
    for (const change of ['a', 'b', 'c']) await admin.admin.broadcast.mutate({ roomId: 'shared:room', type: 'sphere.updated', data: { changed: [change] } });
    const { actionId } = await worker.governance.request.mutate({ action: 'deploy', approvers: ['alice-shared'] });
    await waitFor(async () => (await aliceOnSecond.governance.pending.query()).length === 1, 'the request known on the second process');
    await aliceOnSecond.governance.approve.mutate({ actionId });

    await Promise.all([first.server.services.core.store.written(), second.server.services.core.store.written()]);
    expect(await count('notifications')).toBe(1);
    expect(await count('room_events')).toBe(3);
    expect(await count('governance_actions')).toBe(1);
    expect(await aliceOnSecond.notifications.list.query({ limit: 5 })).toMatchObject({ items: [{ id: notificationId }], unreadCount: 1 });
    const aliceOnFirst = first.connect(await first.token('alice-shared')).api;
    expect((await aliceOnFirst.governance.history.query({ limit: 5 })).items).toMatchObject([{ actionId, status: 'approved', decidedBy: 'alice-shared' }]);
    await aliceOnFirst.rooms.join.mutate({ roomId: 'shared:room' });
    expect((await aliceOnFirst.rooms.history.query({ roomId: 'shared:room', limit: 5 })).items.map((event) => event.data)).toEqual([
      { changed: ['c'] },
      { changed: ['b'] },
      { changed: ['a'] },
    ]);
  }, 60_000);
});
