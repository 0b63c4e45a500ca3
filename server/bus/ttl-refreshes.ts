/**
 * Which channels' streams a publish should give a fresh TTL: each channel once per quarter of
 * the TTL from this process, not with every event (an EXPIRE per event was a tenth of the
 * publish path's commands). The script sets 1.25 × the TTL, at most a quarter of it before the
 * channel's last event, so a stream outlives its last event by at least the TTL (which the
 * resume gap check relies on, see redis-history) and at most 1.25 × it.
 */
const maxChannels = 10_000;

export class TtlRefreshes {
  /** Channel → the quarter of the TTL in which this process last refreshed it (insertion-ordered: oldest first). */
  private readonly refreshed = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  /** A '1' or '0' per channel, in order: whether the publish refreshes that channel's TTL. */
  due(channels: readonly string[], nowMs = Date.now()): string {
    const quarter = Math.floor(nowMs / Math.max(1, this.ttlMs / 4));
    let flags = '';
    for (const channel of channels) {
      if (this.refreshed.get(channel) === quarter) {
        flags += '0';
        continue;
      }
      flags += '1';
      this.refreshed.delete(channel);
      if (this.refreshed.size >= maxChannels) this.refreshed.delete(this.refreshed.keys().next().value!);
      this.refreshed.set(channel, quarter);
    }
    return flags;
  }
}
