/**
 * Opens the store's database: PostgreSQL (node-postgres pool) when `DATABASE_URL` is set, an
 * embedded PGlite otherwise (under `DATA_DIR`, or in memory). Both speak PostgreSQL, so one
 * Kysely schema and one set of queries serve both; only the dialect differs.
 */
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { StoreDatabase } from './schema.js';

export type StoreLocation =
  | { kind: 'postgres'; url: string }
  /** `dataDir` undefined: in memory, gone with the process. */
  | { kind: 'pglite'; dataDir: string | undefined };

export interface OpenDatabase {
  db: Kysely<StoreDatabase>;
  close(): Promise<void>;
}

export function openDatabase(location: StoreLocation, onError: (error: unknown, context: string) => void): OpenDatabase {
  if (location.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: location.url,
      max: 4,
      // A database that is away must fail a batch quickly (it is retried), not hang the queue.
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 10_000,
    });
    // An idle client losing its server emits 'error' on the pool: unhandled, it would end the process.
    pool.on('error', (error) => onError(error, 'store: idle database connection'));
    const db = new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) });
    return { db, close: () => db.destroy() };
  }
  // Relaxed durability: a query does not wait for the file system's flush. Writes reach the store
  // asynchronously anyway (the queue lives in memory), so a crash could lose the last moments
  // either way; waiting for each flush cost delivery CPU for nothing more.
  const pglite = new PGlite(location.dataDir, { relaxedDurability: true });
  const db = new Kysely<StoreDatabase>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    async close() {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/** Applies every migration not yet applied (or those up to `upTo`); throws the first failure. */
export async function migrateToLatest(db: Kysely<StoreDatabase>, upTo?: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider(upTo), migrationTableName: 'store_migrations', migrationLockTableName: 'store_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`Migration failed: ${String(error)}`);
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
