/**
 * A connection's frame count in fixed windows: the flood guard that closes a client sending
 * frames far past any rate limit (4030), before those frames cost a decode.
 *
 * Why not rate-limiter-flexible, which the per-user rate limits use: its memory store keeps a
 * record and an unref'd timer per key, 0.43 KB measured, so one key per connection held every
 * connection's 0.43 KB for five seconds after it last opened a window (the whole of a connect
 * burst; issue 17). A connection is already an object that lives exactly as long as its count
 * matters, and a fixed window is two numbers on it. The per-user limits need the library's
 * buckets, burst and Redis lease; they stay on it.
 */
export class FrameWindow {
  private startedAt = Number.NEGATIVE_INFINITY;
  private frames = 0;

  /** Counts one frame at `now` (ms); false when the window already held `limit` frames. */
  admit(now: number, limit: number, windowMs: number): boolean {
    if (now - this.startedAt >= windowMs) {
      this.startedAt = now;
      this.frames = 0;
    }
    return ++this.frames <= limit;
  }
}
