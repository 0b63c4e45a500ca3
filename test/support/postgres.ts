/**
 * PostgreSQL for the store's tests: a throwaway database on the machine's server (127.0.0.1:5432,
 * user postgres, trust auth; `POSTGRES_ADMIN_URL` overrides), dropped at the end; and a server of
 * the test's own (initdb + pg_ctl on a free port, run as the postgres user since initdb refuses
 * root) that a test may stop and start again. Outside CI a missing server skips; under CI it fails.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const run = promisify(execFile);
export const postgresAdminUrl = process.env.POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Describe-level guard, as for Redis: outside CI a missing PostgreSQL skips. */
export async function requirePostgres(): Promise<boolean> {
  if (await postgresAvailable()) return true;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${postgresAdminUrl}`);
  console.warn(`PostgreSQL not reachable at ${postgresAdminUrl}: skipping PostgreSQL store tests`);
  return false;
}

async function admin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface ThrowawayDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database; `drop()` removes it (closing what is still connected). */
export async function createThrowawayDatabase(adminUrl = postgresAdminUrl): Promise<ThrowawayDatabase> {
  const name = `rt_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  // The name is made here of [a-z0-9_] only: an identifier cannot be a bound parameter.
  await admin(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

export interface OwnPostgres {
  adminUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

const binary = (name: string) => `/usr/local/bin/${name}`;
const asPostgres = (command: string, args: string[]) =>
  process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', binary(command), ...args]) : run(binary(command), args);

/** A PostgreSQL server of the test's own, in a temporary directory, on a free port. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const directory = mkdtempSync(join(tmpdir(), 'rt-pg-'));
  const dataDir = join(directory, 'data');
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    chownSync(directory, Number(stdout.trim()), Number(group.trim()));
  }
  chmodSync(directory, 0o700);
  await asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => asPostgres('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(directory, 'log'), '-w', 'start']).then(() => {});
  const stop = () => asPostgres('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).then(() => {});
  await start();
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => {});
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
