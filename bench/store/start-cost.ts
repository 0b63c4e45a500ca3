/**
 * What the durable store costs at start (issue 21): time to open and migrate, and the process's
 * memory after, for PGlite in a new data directory (initdb in WebAssembly), in an existing one
 * (a restart), in memory (`DATA_DIR=memory`), and for PostgreSQL (a throwaway database). Each case
 * runs in a fresh process (`npx tsx bench/store/start-cost.ts [--repeats 3]`), so memory is its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqlStore } from '../../server/store/sql-store.js';
import type { StoreLocation } from '../../server/store/database.js';

const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function measureOne(location: StoreLocation): Promise<void> {
  const before = process.memoryUsage();
  const started = performance.now();
  const store = new SqlStore({ location, onError: (error) => console.error(error) });
  await store.start();
  const milliseconds = performance.now() - started;
  const after = process.memoryUsage();
  await store.stop();
  console.log(JSON.stringify({ milliseconds: Math.round(milliseconds), rssMb: Math.round((after.rss - before.rss) / 1e6), externalMb: Math.round((after.external - before.external) / 1e6) }));
}

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(query).finally(() => client.end());
}

function child(location: StoreLocation): { milliseconds: number; rssMb: number; externalMb: number } {
  const output = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--child', JSON.stringify(location)], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').at(-1)!) as { milliseconds: number; rssMb: number; externalMb: number };
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  await measureOne(JSON.parse(process.argv[childAt + 1]!) as StoreLocation);
} else {
  const repeatsAt = process.argv.indexOf('--repeats');
  const repeats = repeatsAt >= 0 ? Number(process.argv[repeatsAt + 1]) : 3;
  for (let repeat = 1; repeat <= repeats; repeat++) {
    const directory = mkdtempSync(join(tmpdir(), 'start-cost-'));
    const database = `start_cost_${process.pid}_${repeat}`;
    await admin(`create database ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    try {
      console.log(`repeat ${repeat}`);
      console.log('  PGlite, new directory     ', child({ kind: 'pglite', dataDir: directory }));
      console.log('  PGlite, existing directory', child({ kind: 'pglite', dataDir: directory }));
      console.log('  PGlite, in memory         ', child({ kind: 'pglite', dataDir: undefined }));
      console.log('  PostgreSQL, new database  ', child({ kind: 'postgres', url: url.toString() }));
      console.log('  PostgreSQL, migrated      ', child({ kind: 'postgres', url: url.toString() }));
    } finally {
      rmSync(directory, { recursive: true, force: true });
      await admin(`drop database if exists ${database} with (force)`);
    }
  }
}
