/**
 * The durable store over SQL (PostgreSQL or PGlite, one schema): the core's `DurableStore`.
 * Writes go through the bounded write queue and are applied a batch per transaction; each row is
 * keyed by the id of what it records (`on conflict do nothing` for events), so a retried batch,
 * or two processes recording the same thing, write it once. Reads page on insertion order
 * (`position`), newest first.
 */
import { sql, type Kysely } from 'kysely';
import superjson, { type SuperJSONResult } from 'superjson';
import type { RealtimeEvent } from '../../shared/events.js';
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import type { DurableStore, FinishedRun, InboxNotification, Page, StoreHealth } from '../core/durable-store.js';
import { RealtimeError } from '../core/errors.js';
import { decodeCursor, encodeCursor } from '../core/governance-history.js';
import { migrateToLatest, openDatabase, type OpenDatabase, type StoreLocation } from './database.js';
import type { StoreDatabase } from './schema.js';
import { WriteQueue } from './write-queue.js';
import { writeBatch, type StoreWrite } from './batch-writes.js';

export interface SqlStoreOptions {
  location: StoreLocation;
  /** Room history older than this is deleted by a background sweep (HISTORY_RETENTION). @default 30 days */
  retentionMs?: number;
  /** Writes held while the database is slow or away; past it they are dropped and counted. @default 100000 */
  maxQueuedWrites?: number;
  /** How long `stop()` tries to write what is queued. @default 5000 */
  drainTimeoutMs?: number;
  /** Types never stored (ephemeral ones never reach the store at all). */
  isEphemeral?: (type: string) => boolean;
  onError(error: unknown, context: string): void;
}

const thirtyDaysMs = 30 * 24 * 3_600_000;


function deserialize<T>(column: unknown): T {
  return superjson.deserialize<T>((typeof column === 'string' ? JSON.parse(column) : column) as SuperJSONResult);
}

function positionCursor(cursor: string | undefined): string | undefined {
  if (cursor !== undefined && !/^\d{1,19}$/.test(cursor)) throw new RealtimeError('BAD_REQUEST', 'Not a cursor of this list');
  return cursor;
}

function lastOf<T>(rows: T[], limit: number, position: (row: T) => string): string | null {
  return rows.length > limit ? position(rows[limit - 1]!) : null;
}


export class SqlStore implements DurableStore {
  readonly enabled = true;
  private database: OpenDatabase | undefined;
  private readonly queue: WriteQueue<StoreWrite>;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SqlStoreOptions) {
    this.queue = new WriteQueue<StoreWrite>({
      write: (batch) => writeBatch(this.db, batch),
      ...(options.maxQueuedWrites !== undefined && { maxQueued: options.maxQueuedWrites }),
      onError: options.onError,
    });
  }

  private get db(): Kysely<StoreDatabase> {
    if (!this.database) throw new RealtimeError('SERVICE_UNAVAILABLE', 'The store is not open');
    return this.database.db;
  }

  /** Opens the database and applies the migrations it lacks; throws when it cannot. */
  async start(): Promise<void> {
    if (this.database) return;
    const database = openDatabase(this.options.location, this.options.onError);
    try {
      await migrateToLatest(database.db);
    } catch (error) {
      await database.close().catch(() => {});
      throw error;
    }
    this.database = database;
    const retentionMs = this.options.retentionMs ?? thirtyDaysMs;
    this.pruneTimer = setInterval(() => {
      this.pruneRoomHistory(new Date(Date.now() - retentionMs)).catch((error: unknown) => this.options.onError(error, 'store: pruning room history'));
    }, Math.max(1_000, Math.min(retentionMs / 4, 3_600_000)));
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.queue.close(this.options.drainTimeoutMs ?? 5_000);
    const dropped = this.queue.counters().queued;
    if (dropped > 0) this.options.onError(new Error(`${dropped} store writes were still queued at stop`), 'store');
    await this.database?.close();
    this.database = undefined;
  }

  health(): StoreHealth {
    const reason = this.queue.reason;
    return { state: this.queue.state, queued: this.queue.counters().queued, ...(reason !== undefined && { reason }) };
  }

  counters() {
    return this.queue.counters();
  }

  recordEvent(event: RealtimeEvent): void {
    if (this.options.isEphemeral?.(event.type)) return;
    if (event.type === 'notification.new' && event.userId !== undefined) this.queue.push({ kind: 'notification', userId: event.userId, event });
    if (event.roomId !== undefined) this.queue.push({ kind: 'room', roomId: event.roomId, event });
  }

  recordAction(action: GovernanceAction): void {
    this.queue.push({ kind: 'action', action });
  }

  recordFinishedRun(run: FinishedRun): void {
    this.queue.push({ kind: 'run', run });
  }

  recordRead(userId: string, notificationId: string | undefined, readAt: Date): void {
    this.queue.push({ kind: 'read', userId, notificationId, readAt });
  }

  written(timeoutMs?: number): Promise<void> {
    return this.queue.written(timeoutMs);
  }

  async notifications(userId: string, page: { limit: number; cursor?: string; unreadOnly?: boolean }) {
    const before = positionCursor(page.cursor);
    return this.read('notifications.list', async () => {
      let query = this.db.selectFrom('notifications').select(['position', 'event', 'read_at']).where('user_id', '=', userId);
      if (page.unreadOnly) query = query.where('read_at', 'is', null);
      if (before !== undefined) query = query.where('position', '<', before);
      const rows = await query.orderBy('position', 'desc').limit(page.limit + 1).execute();
      const unread = await this.db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('user_id', '=', userId)
        .where('read_at', 'is', null)
        .executeTakeFirstOrThrow();
      const items = rows.slice(0, page.limit).map(
        (row): InboxNotification => ({ ...deserialize<RealtimeEvent<'notification.new'>>(row.event), read: row.read_at !== null, readAt: row.read_at }),
      );
      return { items, nextCursor: lastOf(rows, page.limit, (row) => String(row.position)), unreadCount: Number(unread.count) };
    });
  }

  async roomHistory(roomId: string, page: { limit: number; cursor?: string }): Promise<Page<RealtimeEvent>> {
    const before = positionCursor(page.cursor);
    return this.read('rooms.history', async () => {
      let query = this.db.selectFrom('room_events').select(['position', 'event']).where('room_id', '=', roomId);
      if (before !== undefined) query = query.where('position', '<', before);
      const rows = await query.orderBy('position', 'desc').limit(page.limit + 1).execute();
      return { items: rows.slice(0, page.limit).map((row) => deserialize<RealtimeEvent>(row.event)), nextCursor: lastOf(rows, page.limit, (row) => String(row.position)) };
    });
  }

  async decidedActions(userId: string | undefined, page: { limit: number; cursor?: string }): Promise<Page<GovernanceAction>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    return this.read('governance.history', async () => {
      let query = this.db.selectFrom('governance_actions').select('action').where('decided_at', 'is not', null);
      if (userId !== undefined) {
        query = query.where((eb) => eb.or([eb('requester_id', '=', userId), sql<boolean>`approvers @> ${JSON.stringify([userId])}::jsonb`]));
      }
      if (after) {
        const at = new Date(after.decidedAtMs);
        query = query.where((eb) => eb.or([eb('decided_at', '<', at), eb.and([eb('decided_at', '=', at), eb('action_id', '<', after.actionId)])]));
      }
      const rows = await query.orderBy('decided_at', 'desc').orderBy('action_id', 'desc').limit(page.limit + 1).execute();
      const items = rows.slice(0, page.limit).map((row) => deserialize<GovernanceAction>(row.action));
      return { items, nextCursor: rows.length > page.limit ? encodeCursor(items[items.length - 1]!) : null };
    });
  }

  async action(actionId: string): Promise<GovernanceAction | undefined> {
    return this.read('governance.get', async () => {
      const row = await this.db.selectFrom('governance_actions').select('action').where('action_id', '=', actionId).executeTakeFirst();
      return row && deserialize<GovernanceAction>(row.action);
    });
  }

  async pendingActions(limit: number): Promise<GovernanceAction[]> {
    return this.read('pending actions', async () => {
      const rows = await this.db.selectFrom('governance_actions').select('action').where('status', '=', 'pending').orderBy('updated_at', 'desc').limit(limit).execute();
      return rows.map((row) => deserialize<GovernanceAction>(row.action));
    });
  }

  async finishedRuns(filter: { ownerId?: string; agentId?: string }, limit: number): Promise<FinishedRun[]> {
    return this.read('agents.list', async () => {
      let query = this.db.selectFrom('agent_runs').select('run');
      if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
      if (filter.agentId !== undefined) query = query.where('agent_id', '=', filter.agentId);
      const rows = await query.orderBy('finished_at', 'desc').limit(limit).execute();
      return rows.map((row) => deserialize<FinishedRun>(row.run));
    });
  }

  async pruneRoomHistory(before: Date): Promise<number> {
    const result = await this.db.deleteFrom('room_events').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** A read of the store: SERVICE_UNAVAILABLE while the database is away. */
  private async read<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      if (error instanceof RealtimeError) throw error;
      throw new RealtimeError('SERVICE_UNAVAILABLE', `${what}: the store is unavailable (${error instanceof Error ? error.message : String(error)})`, { cause: error });
    }
  }
}
