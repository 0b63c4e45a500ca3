/**
 * Callers waiting until this process has delivered a sequence: how a process reads its own write
 * when the write (a cluster script) is delivered back to it through the bus.
 */
export class SequenceWaiters {
  private readonly waiters = new Set<{ sequence: number; resolve: () => void }>();

  /** Resolves once `reached` passes `sequence`, or after `timeoutMs` anyway (never rejects). */
  wait(sequence: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { sequence, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve();
      }, timeoutMs);
      timer.unref();
      this.waiters.add(waiter);
    });
  }

  /** Everything up to `sequence` is delivered. */
  reached(sequence: number): void {
    for (const waiter of this.waiters) {
      if (waiter.sequence <= sequence) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** The sequence started again (a new epoch): nobody can wait for the old one. */
  releaseAll(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
  }
}
