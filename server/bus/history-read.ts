/** The parts of a history read both buses share: where a resume starts, and the merged answer. */
import { parseEventId } from '../../shared/event-id.js';
import type { BusEvent, GapReason, HistoryRead } from './bus.js';

/**
 * Where a resume from `afterEventId` starts in the current history: a malformed id, an id from
 * another epoch (the history behind it is gone) or one from the future is a gap from the start.
 */
export function resumePoint(afterEventId: string, epoch: string | null, newestSequence: number): { afterSequence: number; gap?: GapReason } {
  const parsed = parseEventId(afterEventId);
  if (!parsed) return { afterSequence: 0, gap: 'unknown_event_id' };
  if (parsed.epoch !== epoch) return { afterSequence: 0, gap: 'service_restarted' };
  if (parsed.sequence > newestSequence) return { afterSequence: 0, gap: 'unknown_event_id' };
  return { afterSequence: parsed.sequence };
}

/** Events of several channels, each once, oldest first; past `limit` only the newest, and a gap. */
export function mergedHistory(bySequence: Map<number, BusEvent>, limit: number, gap: GapReason | undefined): HistoryRead {
  let events = [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
  if (events.length > limit) {
    events = events.slice(events.length - limit);
    gap ??= 'history_evicted';
  }
  return gap === undefined ? { events } : { events, gap };
}
