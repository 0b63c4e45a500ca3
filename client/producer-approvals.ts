/**
 * Waiting for approval in the producer client: `requireApproval` requests a governance action
 * and settles when it is decided. Decisions are heard on `onGovernance` (opened on first need);
 * one that raced the subscription, or came while the stream was away (a reconnect, a gap), is
 * read back from the recorded action, and a timer past the expiry reads it once more, so a wait
 * never hangs on a missed event. A wait given up on (its signal aborted) withdraws the action.
 */
import type { RouterOutputs } from './router-types.js';
import { errorCode, watch, type ProducerContext, type Watch } from './producer-connection.js';

/** A governance action as the service records it (status, approvers, decider, reason, expiry). */
export type GovernanceActionView = RouterOutputs['governance']['get'];

export interface ApprovalRequestOptions {
  /** What will be done, e.g. `delete_project`. */
  action: string;
  /** Users who may decide; admins always may. */
  approvers: string[];
  /** How many approvers must approve; one rejection rejects. @default 1 */
  quorum?: number;
  /** @default the service's default (5 minutes) */
  expiresInMs?: number;
  description?: string;
  /** JSON the approvers see. */
  details?: unknown;
  agentId?: string;
  /** Aborting withdraws the action and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** `requireApproval` rejects with this when the action was rejected, withdrawn or expired. */
export class ApprovalDeniedError extends Error {
  readonly status: 'rejected' | 'expired';
  constructor(readonly action: GovernanceActionView) {
    const by = action.decidedBy ? ` by ${action.decidedBy}` : '';
    super(`Action ${action.actionId} (${action.action}) was ${action.status}${by}${action.reason ? `: ${action.reason}` : ''}`);
    this.name = 'ApprovalDeniedError';
    this.status = action.status === 'expired' ? 'expired' : 'rejected';
  }
}

export interface Approvals {
  /** Requests approval and waits: resolves when approved, rejects with ApprovalDeniedError otherwise. */
  requireApproval(request: ApprovalRequestOptions): Promise<GovernanceActionView>;
  /** Stops listening and rejects every approval still waited for. */
  close(): void;
}

interface PendingApproval {
  settle(action: GovernanceActionView): void;
  fail(error: unknown): void;
}

export function createApprovals({ api, publish, newKey, reportError, isClosed }: ProducerContext): Approvals {
  const approvals = new Map<string, PendingApproval>();
  let governanceWatch: Watch | undefined;

  /** Settles a waiting approval from the recorded action, once it is no longer pending. */
  const recheckApproval = (actionId: string) => {
    if (!approvals.has(actionId)) return;
    api.governance.get
      .query({ actionId })
      .then((action) => {
        if (action.status !== 'pending') approvals.get(actionId)?.settle(action);
      })
      .catch((error: unknown) => reportError(error, `re-checking action ${actionId}`));
  };
  const recheckApprovals = () => {
    for (const actionId of approvals.keys()) recheckApproval(actionId);
  };

  // Opened on first need; one the server refused (onError) is opened again on the next.
  const watchGovernance = () => {
    if (!governanceWatch || governanceWatch.failed) {
      governanceWatch = watch(
        (handlers) => api.onGovernance.subscribe(undefined, handlers),
        (event) => {
          if (event.type === 'stream.gap') return recheckApprovals();
          if (event.type === 'governance.approved' || event.type === 'governance.rejected' || event.type === 'governance.expired') {
            recheckApproval(event.data.actionId);
          }
        },
        recheckApprovals,
        reportError,
      );
    }
    return governanceWatch.ready;
  };

  const requireApproval = async (request: ApprovalRequestOptions): Promise<GovernanceActionView> => {
    const { signal, details, ...input } = request;
    signal?.throwIfAborted();
    if (isClosed()) throw new Error('The producer client is closed');
    await watchGovernance();
    const actionId = globalThis.crypto.randomUUID();
    let safetyCheck: ReturnType<typeof setTimeout> | undefined;
    let requested = false;
    // Nobody waits any more: the action is taken back so approvers stop seeing it.
    const withdrawKey = newKey();
    const withdraw = () =>
      publish((signal) => api.governance.withdraw.mutate({ actionId, reason: 'the requester stopped waiting', idempotencyKey: withdrawKey }, { signal })).catch(
        (error: unknown) => {
          if (errorCode(error) !== 'CONFLICT') reportError(error, `withdrawing ${actionId}`);
        },
      );
    const onAbort = () => {
      approvals.get(actionId)?.fail(signal?.reason);
      if (requested) void withdraw();
    };
    // Registered before the request is sent, so a decision that arrives first still settles it.
    const decided = new Promise<GovernanceActionView>((resolve, reject) => {
      const done = () => {
        approvals.delete(actionId);
        clearTimeout(safetyCheck);
        signal?.removeEventListener('abort', onAbort);
      };
      approvals.set(actionId, {
        settle: (action) => {
          done();
          if (action.status === 'approved') resolve(action);
          else reject(new ApprovalDeniedError(action));
        },
        fail: (error) => {
          done();
          reject(error);
        },
      });
    });
    decided.catch(() => {}); // Awaited below; this only keeps an early rejection from being reported as unhandled.
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // `details` is checked as JSON by the service; the type stays `unknown` for callers' convenience.
      // The action id is this request's idempotency key as well: one logical request, one id.
      const approvalInput = { ...input, actionId, idempotencyKey: actionId, ...(details !== undefined && { details: details as never }) };
      const created = await publish((callSignal) => api.governance.request.mutate(approvalInput, { signal: callSignal }));
      requested = true;
      if (signal?.aborted) void withdraw();
      else {
        // A decision that raced the subscription is read back rather than missed.
        recheckApproval(actionId);
        // Should the expiry event be lost (a long disconnect, clocks apart), the recorded state still settles the wait.
        const check = (delayMs: number) => {
          safetyCheck = setTimeout(() => {
            recheckApproval(actionId);
            if (approvals.has(actionId)) check(5_000);
          }, delayMs);
        };
        if (approvals.has(actionId)) check(Math.max(0, created.expiresAt.getTime() - Date.now() + 1_000));
      }
    } catch (error) {
      approvals.get(actionId)?.fail(error);
    }
    return decided;
  };

  return {
    requireApproval,
    close() {
      governanceWatch?.stop();
      for (const pending of [...approvals.values()]) pending.fail(new Error('The producer client was closed while waiting for approval'));
    },
  };
}
