/**
 * The store's migrations (issue 21): from an empty database to the latest, and from the previous
 * version (the first migration alone, with rows in it) to the latest without losing those rows;
 * on PostgreSQL (a throwaway database) and on PGlite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import superjson from 'superjson';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type StoreLocation } from '../../server/store/database.js';
import { migrationNames } from '../../server/store/migrations.js';
import { SqlStore } from '../../server/store/sql-store.js';
import { createThrowawayDatabase, requirePostgres, type ThrowawayDatabase } from '../support/postgres.js';

const hasPostgres = await requirePostgres();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function location(kind: 'postgres' | 'pglite'): Promise<StoreLocation> {
  if (kind === 'postgres') {
    const database: ThrowawayDatabase = await createThrowawayDatabase();
    cleanups.push(() => database.drop());
    return { kind, url: database.url };
  }
  const directory = mkdtempSync(join(tmpdir(), 'rt-migrate-'));
  cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
  return { kind, dataDir: directory };
}

const onError = (error: unknown) => {
  throw error;
};

describe.each([
  { kind: 'postgres' as const, enabled: hasPostgres },
  { kind: 'pglite' as const, enabled: true },
])('migrations on $kind', ({ kind, enabled }) => {
  it.skipIf(!enabled)('upgrades a database of the previous version, keeping its rows, and is idempotent', async () => {
    expect(migrationNames.length).toBeGreaterThanOrEqual(2);
    const where = await location(kind);
    const previous = openDatabase(where, onError);
    expect(await migrateToLatest(previous.db, migrationNames[0])).toEqual([migrationNames[0]]);
    const event = { id: 'old-1', type: 'notification.new', data: { title: 'from v1', message: 'kept' }, timestamp: new Date(), userId: 'ann' };
    await previous.db
      .insertInto('notifications')
      .values({ event_id: event.id, user_id: 'ann', created_at: event.timestamp, read_at: null, event: JSON.stringify(superjson.serialize(event)) })
      .execute();
    await previous.close();

    // The service's start applies the rest.
    const store = new SqlStore({ location: where, onError });
    await store.start();
    expect(await store.notifications('ann', { limit: 10 })).toMatchObject({ items: [{ id: 'old-1', data: { title: 'from v1' }, read: false }], unreadCount: 1 });
    store.recordEvent({ id: 'room-1', type: 'sphere.updated', data: { changed: ['x'] }, timestamp: new Date(), roomId: 'r' });
    await store.written();
    expect((await store.roomHistory('r', { limit: 5 })).items.map((item) => item.id)).toEqual(['room-1']);
    await store.stop();

    const again = openDatabase(where, onError);
    expect(await migrateToLatest(again.db)).toEqual([]);
    await again.close();
  }, 120_000);

  // PGlite starts every test above from an empty directory; one more initdb would only cost time.
  if (kind === 'postgres') {
    it.skipIf(!enabled)('migrates an empty database to the latest at start', async () => {
      const where = await location(kind);
      const database = openDatabase(where, onError);
      expect(await migrateToLatest(database.db)).toEqual(migrationNames);
      await database.close();
    });
  }
});
