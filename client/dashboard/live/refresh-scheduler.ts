/**
 * Coalesces "this query is stale" signals from the event stream into at most one refetch per
 * query per interval. A burst of 1,000 presence changes becomes one `admin.presence` call, not
 * 1,000, which keeps the dashboard far below the service's per-connection rate limit.
 */
export class RefreshScheduler<Key extends string> {
  private readonly due = new Set<Key>();
  private readonly lastRun = new Map<Key, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(
    private readonly refresh: (key: Key) => void,
    /** Shortest time between two refreshes of one key. */
    private readonly intervalMs: number,
  ) {}

  /** Marks `key` stale: refreshes now if it has been quiet for an interval, else at the interval's end. */
  request(key: Key): void {
    if (this.disposed) return;
    this.due.add(key);
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const now = Date.now();
    let wait = Infinity;
    for (const key of this.due) wait = Math.min(wait, (this.lastRun.get(key) ?? 0) + this.intervalMs - now);
    this.timer = setTimeout(() => this.run(), Math.max(0, wait));
  }

  private run(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const key of [...this.due]) {
      if ((this.lastRun.get(key) ?? 0) + this.intervalMs > now) continue;
      this.due.delete(key);
      this.lastRun.set(key, now);
      this.refresh(key);
    }
    if (this.due.size > 0) this.schedule();
  }
}
