/**
 * Typing indicators that expire by themselves: a user who said "typing" and then went quiet is
 * reported as stopped after `expireAfterMs`, so no client shows a ghost typist.
 */
export interface TypingTrackerOptions {
  /** @default 5000 */
  expireAfterMs: number;
  onChange: (roomId: string, userId: string, isTyping: boolean) => void;
}

export class TypingTracker {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: TypingTrackerOptions) {}

  set(roomId: string, userId: string, isTyping: boolean): void {
    const key = `${roomId}\u0000${userId}`;
    const existing = this.timers.get(key);
    clearTimeout(existing);
    if (!isTyping) {
      this.timers.delete(key);
      // Only a real change is news: "stopped" from someone not typing is not.
      if (existing) this.options.onChange(roomId, userId, false);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.options.onChange(roomId, userId, false);
    }, this.options.expireAfterMs);
    timer.unref();
    this.timers.set(key, timer);
    // A refresh only extends the timer; a start is news.
    if (!existing) this.options.onChange(roomId, userId, true);
  }

  /** Stops the user's typing in a room without an event (they left it). */
  clear(roomId: string, userId: string): void {
    const key = `${roomId}\u0000${userId}`;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  typingIn(roomId: string): string[] {
    const prefix = `${roomId}\u0000`;
    return [...this.timers.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
  }

  get activeCount(): number {
    return this.timers.size;
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
