/**
 * The keepalive sweep, in slices. Pinging every connection at once blocked the event loop for one
 * write per connection every `KEEPALIVE_PING_MS`: 5,000 connections, about half a second every 30 s,
 * during which no event went out to anyone (issue 17: a fixed-rate phase that crossed it had its
 * p99 at 1.2× Socket.IO's, whose pings run on a timer per socket, spread over the interval).
 * Instead a tick every interval / `slices` visits the next share of the connections, so each is
 * still visited once per interval, and a round never starts before an interval after the last.
 */
const slices = 30;

export class KeepAliveSweep<T> {
  private readonly timer: NodeJS.Timeout;
  private cursor: Iterator<T> | undefined;
  private roundStartedAt = 0;

  constructor(
    private readonly connections: ReadonlySet<T>,
    private readonly intervalMs: number,
    private readonly visit: (connection: T) => void,
  ) {
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(intervalMs / slices)));
    this.timer.unref();
  }

  private tick(): void {
    for (let budget = Math.ceil(this.connections.size / slices); budget > 0; ) {
      if (!this.cursor) {
        if (Date.now() - this.roundStartedAt < this.intervalMs) return;
        // A Set's iterator is live: connections that arrive during a round are visited in it,
        // those that leave are skipped.
        this.roundStartedAt = Date.now();
        this.cursor = this.connections.values();
      }
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        continue;
      }
      this.visit(next.value);
      budget--;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
