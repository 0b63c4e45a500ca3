/**
 * What must outlive a restart (issue 21): notification inboxes with read state, the governance
 * audit trail, finished agent runs and room history. The core sees the store through this
 * interface only; the SQL behind it (PostgreSQL or PGlite, server/store/) is not its business.
 *
 * Writes never make delivery wait: `record*` only queue (bounded), and the store writes the queue
 * in batches behind delivery, retrying what failed. Reads are async and may fail while the
 * database is away (SERVICE_UNAVAILABLE).
 */
import type { RealtimeEvent } from '../../shared/events.js';
import type { AgentRun } from '../../shared/folds/agent-runs.js';
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';

/** `off`: no store configured; `degraded`: writes are failing and being retried. */
export type StoreState = 'off' | 'ready' | 'degraded';

export interface StoreHealth {
  state: StoreState;
  /** Writes waiting in the queue. */
  queued: number;
  /** Why the store is degraded (the last write error). */
  reason?: string;
}

export interface StoreCounters {
  /** Rows written (inserted or updated) since start. */
  rowsWritten: number;
  /** Batches that failed and were retried. */
  failedBatches: number;
  /** Writes refused because the queue was full (counted and logged, never silent). */
  droppedWrites: number;
  queued: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** A stored `notification.new` with its read state; `id` is what `markRead` takes. */
export type InboxNotification = RealtimeEvent<'notification.new'> & { read: boolean; readAt: Date | null };

export interface InboxPage extends Page<InboxNotification> {
  unreadCount: number;
}

/** A finished run as stored: its final state and the whole text of its `agent.output`. */
export type FinishedRun = AgentRun & { output: string };

export interface DurableStore {
  readonly enabled: boolean;
  start(): Promise<void>;
  /** Writes what is queued (waiting at most `drainTimeoutMs`), then closes the database. */
  stop(): Promise<void>;
  health(): StoreHealth;
  counters(): StoreCounters;

  /** A published durable event: a `notification.new` goes to its user's inbox, a room's event to the room's history. */
  recordEvent(event: RealtimeEvent): void;
  /** The action's state after one of its events (the newest state wins; a settled action is final). */
  recordAction(action: GovernanceAction): void;
  recordFinishedRun(run: FinishedRun): void;
  /** `notificationId` undefined: every notification of the user stored so far (markAllRead). */
  recordRead(userId: string, notificationId: string | undefined, readAt: Date): void;

  /** Resolves once every write queued before the call is written, or after `timeoutMs` (reads that follow see them). */
  written(timeoutMs?: number): Promise<void>;

  notifications(userId: string, page: { limit: number; cursor?: string; unreadOnly?: boolean }): Promise<InboxPage>;
  /** Newest first. */
  roomHistory(roomId: string, page: { limit: number; cursor?: string }): Promise<Page<RealtimeEvent>>;
  /** Decided actions `userId` requested or could approve (undefined: all), newest first. */
  decidedActions(userId: string | undefined, page: { limit: number; cursor?: string }): Promise<Page<GovernanceAction>>;
  action(actionId: string): Promise<GovernanceAction | undefined>;
  /** Actions still pending, newest first: a restarted service takes them up again (expiry timers, decisions). */
  pendingActions(limit: number): Promise<GovernanceAction[]>;
  /** The newest finished runs (of `ownerId`, or the one of `agentId`, when given), at most `limit`. */
  finishedRuns(filter: { ownerId?: string; agentId?: string }, limit: number): Promise<FinishedRun[]>;
  /** Deletes room history older than `before` (the retention sweep runs it periodically). Returns the rows deleted. */
  pruneRoomHistory(before: Date): Promise<number>;
}

const emptyPage = { items: [], nextCursor: null };

/** No store (`DATA_DIR=none`, and the default of embedded tests): nothing kept, nothing listed. */
export const noDurableStore: DurableStore = {
  enabled: false,
  start: async () => {},
  stop: async () => {},
  health: () => ({ state: 'off', queued: 0 }),
  counters: () => ({ rowsWritten: 0, failedBatches: 0, droppedWrites: 0, queued: 0 }),
  recordEvent: () => {},
  recordAction: () => {},
  recordFinishedRun: () => {},
  recordRead: () => {},
  written: async () => {},
  notifications: async () => ({ ...emptyPage, unreadCount: 0 }),
  roomHistory: async () => emptyPage,
  decidedActions: async () => emptyPage,
  action: async () => undefined,
  pendingActions: async () => [],
  finishedRuns: async () => [],
  pruneRoomHistory: async () => 0,
};
