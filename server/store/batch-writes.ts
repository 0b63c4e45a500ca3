/**
 * How a batch of the write queue becomes SQL: one multi-row insert per kind of event (`on conflict
 * do nothing` on the event id: a retried batch, or a row another process wrote, is written once),
 * the newest state of each approval (a settled approval is final) and of each finished run, then
 * read marks, in one transaction when the batch takes several statements.
 */
import type { Kysely } from 'kysely';
import superjson from 'superjson';
import type { RealtimeEvent } from '../../shared/events.js';
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import type { FinishedRun } from '../core/durable-store.js';
import type { StoreDatabase } from './schema.js';

export type StoreWrite =
  | { kind: 'notification'; userId: string; event: RealtimeEvent }
  | { kind: 'room'; roomId: string; event: RealtimeEvent }
  | { kind: 'action'; action: GovernanceAction }
  | { kind: 'run'; run: FinishedRun }
  | { kind: 'read'; userId: string; notificationId: string | undefined; readAt: Date };

/** superjson's `{ json, meta }` as jsonb text. PostgreSQL refuses NUL in jsonb strings: it becomes U+FFFD. */
export function serialize(value: unknown): string {
  return JSON.stringify(superjson.serialize(value)).replaceAll('\\u0000', '\uFFFD');
}

/** Keeps the last write of each key (a batch may carry several states of one action or run). */
function lastByKey<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/**
 * One batch, in one transaction when it takes several statements (one statement is atomic by
 * itself, and BEGIN and COMMIT would double the round trips of the common batch: room events).
 */
export async function writeBatch(db: Kysely<StoreDatabase>, batch: readonly StoreWrite[]): Promise<number> {
  const statements = statementsOf(batch);
  if (statements.length === 1) return statements[0]!(db);
  return db.transaction().execute(async (trx) => {
    let rows = 0;
    for (const statement of statements) rows += await statement(trx);
    return rows;
  });
}

function statementsOf(batch: readonly StoreWrite[]): ((db: Kysely<StoreDatabase>) => Promise<number>)[] {
  const of = <K extends StoreWrite['kind']>(kind: K) => batch.filter((write): write is Extract<StoreWrite, { kind: K }> => write.kind === kind);
  const statements: ((db: Kysely<StoreDatabase>) => Promise<number>)[] = [];
  const notifications = of('notification').map(({ userId, event }) => ({ event_id: event.id, user_id: userId, created_at: event.timestamp, read_at: null, event: serialize(event) }));
  if (notifications.length > 0) {
    statements.push(async (db) => Number((await db.insertInto('notifications').values(notifications).onConflict((oc) => oc.column('event_id').doNothing()).executeTakeFirst()).numInsertedOrUpdatedRows ?? 0));
  }
  const roomEvents = of('room').map(({ roomId, event }) => ({ event_id: event.id, room_id: roomId, type: event.type, created_at: event.timestamp, event: serialize(event) }));
  if (roomEvents.length > 0) {
    statements.push(async (db) => Number((await db.insertInto('room_events').values(roomEvents).onConflict((oc) => oc.column('event_id').doNothing()).executeTakeFirst()).numInsertedOrUpdatedRows ?? 0));
  }
  const actions = lastByKey(of('action'), (write) => write.action.actionId).map((write) => write.action);
  if (actions.length > 0) statements.push((db) => writeActions(db, actions));
  const runs = lastByKey(of('run'), (write) => write.run.agentId).map((write) => write.run);
  if (runs.length > 0) statements.push((db) => writeRuns(db, runs));
  // After the inserts: a read in the same batch as its notification finds it.
  for (const read of of('read')) {
    statements.push(async (db) => {
      let update = db.updateTable('notifications').set({ read_at: read.readAt }).where('user_id', '=', read.userId).where('read_at', 'is', null);
      if (read.notificationId !== undefined) update = update.where('event_id', '=', read.notificationId);
      return Number((await update.executeTakeFirst()).numUpdatedRows);
    });
  }
  return statements;
}

async function writeActions(trx: Kysely<StoreDatabase>, actions: GovernanceAction[]): Promise<number> {
  const values = actions.map((action) => ({
    action_id: action.actionId,
    requester_id: action.requesterId,
    approvers: JSON.stringify(action.approvers),
    status: action.status,
    decided_at: action.decidedAt ?? null,
    updated_at: new Date(),
    action: serialize(action),
  }));
  const result = await trx
    .insertInto('governance_actions')
    .values(values)
    .onConflict((oc) =>
      oc
        .column('action_id')
        .doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          decided_at: eb.ref('excluded.decided_at'),
          updated_at: eb.ref('excluded.updated_at'),
          action: eb.ref('excluded.action'),
        }))
        // Decided once: a settled action is final, whichever process writes later.
        .where('governance_actions.status', '=', 'pending'),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

async function writeRuns(trx: Kysely<StoreDatabase>, runs: FinishedRun[]): Promise<number> {
  const values = runs.map((run) => ({
    agent_id: run.agentId,
    owner_id: run.ownerId,
    room_id: run.roomId ?? null,
    status: run.status,
    finished_at: run.updatedAt,
    run: serialize(run),
  }));
  const result = await trx
    .insertInto('agent_runs')
    .values(values)
    .onConflict((oc) =>
      oc.column('agent_id').doUpdateSet((eb) => ({
        owner_id: eb.ref('excluded.owner_id'),
        room_id: eb.ref('excluded.room_id'),
        status: eb.ref('excluded.status'),
        finished_at: eb.ref('excluded.finished_at'),
        run: eb.ref('excluded.run'),
      })),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}
