/**
 * State a hook keeps from a snapshot query plus the live events that follow it, readable with
 * `useSyncExternalStore` (immutable snapshots, `subscribe` returns its unsubscribe).
 *
 * The race it closes: events that arrive while the snapshot query is in flight may or may not
 * be in the snapshot. They are applied at once and remembered, then applied again on top of the
 * snapshot when it lands, so whichever way the race went the result is the same (reducers are
 * written to be idempotent: applying an event twice equals applying it once).
 */
import { createListeners } from '../../shared/listeners.js';

export type Reducer<S, E> = (state: S, event: E) => S;
/** Resolves with how to fold the snapshot into the current state. */
export type SnapshotLoader<S> = () => Promise<(current: S) => S>;

export class LiveState<S, E> {
  private state: S;
  private readonly listeners = createListeners();
  private eventsDuringSnapshot: E[] | undefined;
  private loading = false;
  private queuedLoad: SnapshotLoader<S> | undefined;

  constructor(
    initial: S,
    private readonly reduce: Reducer<S, E>,
    private readonly onLoadError: (error: unknown) => void = () => {},
  ) {
    this.state = initial;
  }

  readonly getSnapshot = (): S => this.state;

  readonly subscribe = (listener: () => void): (() => void) => this.listeners.add(listener);

  apply(event: E): void {
    this.eventsDuringSnapshot?.push(event);
    this.set(this.reduce(this.state, event));
  }

  /** A local change (an optimistic update, a timer). */
  update(change: (state: S) => S): void {
    this.set(change(this.state));
  }

  /**
   * Loads a snapshot. While one is in flight another request is coalesced into a single reload
   * after it, so the last snapshot always started after the last request.
   */
  reload(load: SnapshotLoader<S>): void {
    if (this.loading) {
      this.queuedLoad = load;
      return;
    }
    this.loading = true;
    const events: E[] = (this.eventsDuringSnapshot = []);
    load()
      .then((fold) => {
        let next = fold(this.state);
        for (const event of events) next = this.reduce(next, event);
        this.set(next);
      })
      .catch((error: unknown) => this.onLoadError(error))
      .finally(() => {
        this.eventsDuringSnapshot = undefined;
        this.loading = false;
        const queued = this.queuedLoad;
        this.queuedLoad = undefined;
        if (queued) this.reload(queued);
      });
  }

  private set(next: S): void {
    if (Object.is(next, this.state)) return;
    this.state = next;
    this.listeners.emit();
  }
}
