/**
 * A bounded memory of the event ids a stream has delivered, so an event that arrives twice (a
 * replay overlapping what was already seen, a resubscribe racing a reconnect) reaches handlers
 * once. Insertion-ordered Set: the oldest id is forgotten first, so memory stays flat.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  /** @param capacity ids remembered; well past any replay a reconnect can overlap. */
  constructor(private readonly capacity = 2_000) {}

  /** True the first time an id is offered, false for a repeat. */
  firstTime(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}
