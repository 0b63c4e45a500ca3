/**
 * The schema's history, in code, applied in order by Kysely's Migrator at start (a table of its
 * own records which have run). Never edit a migration that has shipped: add the next one.
 * A test applies the first alone, writes rows, then the rest (test/store/migrations.test.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

const migrations: Record<string, Migration> = {
  /** Inboxes, the governance audit trail and finished agent runs. */
  '2026-12-06-001-inbox-and-audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notifications')
        .addColumn('event_id', 'text', (column) => column.primaryKey())
        .addColumn('user_id', 'text', (column) => column.notNull())
        .addColumn('position', 'bigint', (column) => column.generatedAlwaysAsIdentity().notNull().unique())
        .addColumn('created_at', 'timestamptz', (column) => column.notNull())
        .addColumn('read_at', 'timestamptz')
        .addColumn('event', 'jsonb', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('notifications_by_user').on('notifications').columns(['user_id', 'position']).execute();
      await db.schema
        .createTable('governance_actions')
        .addColumn('action_id', 'text', (column) => column.primaryKey())
        .addColumn('requester_id', 'text', (column) => column.notNull())
        .addColumn('approvers', 'jsonb', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('decided_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (column) => column.notNull())
        .addColumn('action', 'jsonb', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('governance_actions_by_decision').on('governance_actions').columns(['decided_at', 'action_id']).execute();
      await db.schema
        .createTable('agent_runs')
        .addColumn('agent_id', 'text', (column) => column.primaryKey())
        .addColumn('owner_id', 'text', (column) => column.notNull())
        .addColumn('room_id', 'text')
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('finished_at', 'timestamptz', (column) => column.notNull())
        .addColumn('run', 'jsonb', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('agent_runs_by_owner').on('agent_runs').columns(['owner_id', 'finished_at']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['agent_runs', 'governance_actions', 'notifications']) await db.schema.dropTable(table).execute();
    },
  },
  /** Room history for members, pruned by age (HISTORY_RETENTION). */
  '2026-12-06-002-room-history': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('room_events')
        .addColumn('event_id', 'text', (column) => column.primaryKey())
        .addColumn('room_id', 'text', (column) => column.notNull())
        .addColumn('position', 'bigint', (column) => column.generatedAlwaysAsIdentity().notNull().unique())
        .addColumn('type', 'text', (column) => column.notNull())
        .addColumn('created_at', 'timestamptz', (column) => column.notNull())
        .addColumn('event', 'jsonb', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('room_events_by_room').on('room_events').columns(['room_id', 'position']).execute();
      await db.schema.createIndex('room_events_by_age').on('room_events').column('created_at').execute();
      // The unread count of an inbox is asked on every list: a partial index keeps it cheap.
      await sql`create index notifications_unread on notifications (user_id) where read_at is null`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('notifications_unread').execute();
      await db.schema.dropTable('room_events').execute();
    },
  },
};

/** The migrations in order; `upTo` (a name) stops after that one (the test of an upgrade from the previous version). */
export function migrationProvider(upTo?: string): MigrationProvider {
  return {
    async getMigrations() {
      const names = Object.keys(migrations).sort();
      const last = upTo === undefined ? names.length : names.indexOf(upTo) + 1;
      return Object.fromEntries(names.slice(0, last).map((name) => [name, migrations[name]!]));
    },
  };
}

export const migrationNames = Object.keys(migrations).sort();
