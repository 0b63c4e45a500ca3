/**
 * The tables, as Kysely types them. One schema for PostgreSQL and PGlite; `event`, `action` and
 * `run` columns hold superjson's `{ json, meta }` of the object, so Dates come back as Dates.
 */
import type { ColumnType, Generated } from 'kysely';

/** superjson.serialize's output, stored as jsonb. */
export type SerializedColumn = ColumnType<unknown, string, string>;

export interface NotificationsTable {
  event_id: string;
  user_id: string;
  /** Insertion order: pages are cut on it (event ids restart with an embedded server's epoch). */
  position: Generated<string>;
  created_at: Date;
  read_at: Date | null;
  event: SerializedColumn;
}

export interface GovernanceActionsTable {
  action_id: string;
  requester_id: string;
  /** jsonb array of user ids: `approvers @> '["alice"]'` finds alice's actions. */
  approvers: ColumnType<unknown, string, string>;
  status: string;
  decided_at: Date | null;
  updated_at: Date;
  action: SerializedColumn;
}

export interface AgentRunsTable {
  agent_id: string;
  owner_id: string;
  room_id: string | null;
  status: string;
  finished_at: Date;
  run: SerializedColumn;
}

export interface RoomEventsTable {
  event_id: string;
  room_id: string;
  position: Generated<string>;
  type: string;
  created_at: Date;
  event: SerializedColumn;
}

export interface StoreDatabase {
  notifications: NotificationsTable;
  governance_actions: GovernanceActionsTable;
  agent_runs: AgentRunsTable;
  room_events: RoomEventsTable;
}
