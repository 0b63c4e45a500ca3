/**
 * `governance.history`: decided actions, newest first, a page at a time. Held in memory with the
 * actions the service remembers (the durable audit trail is another issue); the cursor names the
 * last action of a page by when it was decided and its id; actions decided since come first and
 * do not shift the pages after it.
 */
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import { RealtimeError } from './errors.js';

export interface DecidedPage {
  items: GovernanceAction[];
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

interface Position {
  decidedAtMs: number;
  actionId: string;
}

const decidedAtMs = (action: GovernanceAction) => action.decidedAt?.getTime() ?? 0;

export function encodeCursor(action: GovernanceAction): string {
  return `${decidedAtMs(action)}:${action.actionId}`;
}

export function decodeCursor(cursor: string): Position {
  const separator = cursor.indexOf(':');
  const at = Number(cursor.slice(0, separator));
  if (separator < 1 || !Number.isSafeInteger(at)) throw new RealtimeError('BAD_REQUEST', 'Not a governance.history cursor');
  return { decidedAtMs: at, actionId: cursor.slice(separator + 1) };
}

/**
 * `settled`: the decided actions in the order this process settled them, oldest first (decisions
 * within one millisecond keep that order). The cursor's action is found in the list; one no longer
 * remembered falls back to its time.
 */
export function pageDecidedActions(settled: readonly GovernanceAction[], { limit, cursor }: { limit: number; cursor?: string }): DecidedPage {
  // Newest first: by decision time, and within one millisecond by the order settled (a stable sort).
  const newestFirst = [...settled].reverse().sort((a, b) => decidedAtMs(b) - decidedAtMs(a));
  let from = 0;
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    const index = newestFirst.findIndex((action) => action.actionId === after.actionId);
    from = index >= 0 ? index + 1 : newestFirst.findIndex((action) => decidedAtMs(action) < after.decidedAtMs);
    if (from < 0) from = newestFirst.length;
  }
  const items = newestFirst.slice(from, from + limit).map((action) => ({ ...action }));
  const last = items[items.length - 1];
  return { items, nextCursor: from + limit < newestFirst.length && last ? encodeCursor(last) : null };
}
