/**
 * Whoever waits on this process for one governance action's decision (`requireApproval`,
 * `waitForDecision`): each wait ends once, with the decision, the service's stop, or its own
 * AbortSignal, and an aborted wait leaves nothing behind.
 */
import type { GovernanceAction } from '../../shared/folds/governance-actions.js';
import { RealtimeError } from './errors.js';

interface Waiter {
  resolve: (action: GovernanceAction) => void;
  reject: (error: unknown) => void;
}

export class DecisionWaiters {
  private readonly waiters = new Set<Waiter>();

  /** Resolves at `resolveAll`, rejects at `rejectAll` or when `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<GovernanceAction> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal?.reason ?? new RealtimeError('PRECONDITION_FAILED', 'Aborted'));
      };
      const waiter: Waiter = {
        resolve: (action) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(action);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The waiters get a copy: the service's own record stays its own. */
  resolveAll(action: GovernanceAction): void {
    const snapshot = { ...action };
    for (const waiter of this.waiters) waiter.resolve(snapshot);
    this.waiters.clear();
  }

  rejectAll(error: unknown): void {
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }
}
