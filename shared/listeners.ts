/**
 * One small listener set, for the stores and counters that notify others (TanStack Query's
 * `subscribable.ts` in a dozen lines): `add` returns its own removal, so every subscribe hands
 * back its cleanup, and `emit` calls the listeners there were when it began (one that adds or
 * removes another while being called changes the next emit, not this one).
 */
export interface Listeners<T> {
  /** Returns the removal of this listener; calling it twice is harmless. */
  add(listener: (value: T) => void): () => void;
  emit(value: T): void;
  /** Removes every listener (at close). */
  clear(): void;
  readonly size: number;
}

export interface ListenersOptions {
  /**
   * Called with what a listener threw; the other listeners are still called. Without it, a throw
   * propagates to the emitter (and the listeners after it are not called).
   */
  onListenerError?: (error: unknown) => void;
}

export function createListeners<T = void>(options: ListenersOptions = {}): Listeners<T> {
  const listeners = new Set<(value: T) => void>();
  const { onListenerError } = options;
  return {
    add(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(value) {
      for (const listener of [...listeners]) {
        if (!onListenerError) listener(value);
        else {
          try {
            listener(value);
          } catch (error) {
            onListenerError(error);
          }
        }
      }
    },
    clear() {
      listeners.clear();
    },
    get size() {
      return listeners.size;
    },
  };
}
