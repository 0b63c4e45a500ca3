/**
 * Event ids are `<epoch>-<sequence>`: the sequence is monotonic within one epoch, and the epoch
 * changes when the history behind the ids is lost (an embedded server restarts, a Redis is
 * flushed). Comparing ids across epochs is meaningless, so a resume from another epoch is a gap.
 */
export interface ParsedEventId {
  epoch: string;
  sequence: number;
}

/**
 * An ephemeral event (a cursor) is never stored, so it has no sequence of its own: its id is
 * `<epoch>-<sequence>.<suffix>`, the sequence of the newest stored event its process had seen
 * and a suffix unique to it (clients drop repeated ids). Resuming from it resumes from that
 * sequence, so a client whose last event was a cursor misses nothing durable.
 */
export function formatEphemeralEventId(epoch: string, sequence: number, suffix: string): string {
  return `${epoch}-${sequence}.${suffix}`;
}

export function formatEventId(epoch: string, sequence: number): string {
  return `${epoch}-${sequence}`;
}

/** Whether `id` is an ephemeral event's (`<epoch>-<sequence>.<suffix>`): never stored, safe to drop. */
export function isEphemeralEventId(id: string): boolean {
  return id.lastIndexOf('.') > id.lastIndexOf('-');
}

export function parseEventId(id: string): ParsedEventId | null {
  const dash = id.lastIndexOf('-');
  if (dash <= 0 || dash === id.length - 1) return null;
  const tail = id.slice(dash + 1);
  const dot = tail.indexOf('.');
  if (dot === 0 || dot === tail.length - 1) return null;
  const sequence = Number(dot === -1 ? tail : tail.slice(0, dot));
  if (!Number.isSafeInteger(sequence) || sequence < 0) return null;
  return { epoch: id.slice(0, dash), sequence };
}

/**
 * Whether event `id` comes after a resume point: an event id, or on a Redis Cluster a cursor
 * (`~<position>~<position>…`, a position per partition): the position in the id's own partition
 * decides. With none for it, the two cannot be compared and the id is taken to be newer (a
 * subscriber may then be sent again what it had, never miss what it had not).
 */
export function isAfterResumePoint(id: string, resumePoint: string): boolean {
  if (!resumePoint.startsWith('~')) return isNewerEventId(id, resumePoint);
  const parsed = parseEventId(id);
  if (!parsed) return true;
  for (const position of resumePoint.split('~')) {
    const point = parseEventId(position);
    if (point?.epoch === parsed.epoch) return parsed.sequence > point.sequence;
  }
  return true;
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
