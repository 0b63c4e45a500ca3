/**
 * Event ids are `<epoch>-<sequence>`: the sequence is monotonic within one epoch, and the epoch
 * changes when the history behind the ids is lost (an embedded server restarts, a Redis is
 * flushed). Comparing ids across epochs is meaningless, so a resume from another epoch is a gap.
 */
export interface ParsedEventId {
  epoch: string;
  sequence: number;
}

export function formatEventId(epoch: string, sequence: number): string {
  return `${epoch}-${sequence}`;
}

export function parseEventId(id: string): ParsedEventId | null {
  const dash = id.lastIndexOf('-');
  if (dash <= 0 || dash === id.length - 1) return null;
  const sequence = Number(id.slice(dash + 1));
  if (!Number.isSafeInteger(sequence) || sequence < 0) return null;
  return { epoch: id.slice(0, dash), sequence };
}

/**
 * Whether `id` comes after `than` (a bus may resolve concurrent publishes out of order). Ids of
 * different epochs, or unparsable ones, cannot be compared: the newer is then taken to be `id`.
 */
export function isNewerEventId(id: string, than: string | undefined): boolean {
  if (than === undefined) return true;
  const next = parseEventId(id);
  const previous = parseEventId(than);
  if (!next || !previous || next.epoch !== previous.epoch) return true;
  return next.sequence > previous.sequence;
}
