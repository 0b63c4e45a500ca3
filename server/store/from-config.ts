/** Chooses the durable store: PostgreSQL with DATABASE_URL, PGlite under DATA_DIR (or in memory), or none. */
import { resolve } from 'node:path';
import type { ServerConfig } from '../config.js';
import { noDurableStore, type DurableStore } from '../core/durable-store.js';
import { SqlStore } from './sql-store.js';

export function storeFromConfig(
  config: Pick<ServerConfig, 'databaseUrl' | 'dataDir' | 'historyRetentionSeconds'>,
  isEphemeral: (type: string) => boolean,
  onError: (error: unknown, context: string) => void,
): DurableStore {
  const common = { retentionMs: config.historyRetentionSeconds * 1_000, isEphemeral, onError };
  if (config.databaseUrl) return new SqlStore({ ...common, location: { kind: 'postgres', url: config.databaseUrl } });
  if (config.dataDir === 'none') return noDurableStore;
  return new SqlStore({ ...common, location: { kind: 'pglite', dataDir: config.dataDir === 'memory' ? undefined : resolve(config.dataDir) } });
}
