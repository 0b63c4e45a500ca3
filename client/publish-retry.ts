/**
 * Retrying a publish whose outcome is unknown or whose failure is passing: a call that timed
 * out, lost its connection, met a busy service (SERVICE_UNAVAILABLE) or a rate limit. Every
 * attempt carries the same idempotency key, so the service shows the event once however many
 * attempts reached it: at-least-once sending, exactly-once showing. A failure the service
 * decided on (BAD_REQUEST, FORBIDDEN, CONFLICT, PRECONDITION_FAILED, ...) is final and is never
 * retried: sending it again would get the same answer. INTERNAL_SERVER_ERROR is final too: it
 * is a bug to report, and retrying it would only multiply the load it causes.
 */
import { isTRPCClientError } from '@trpc/client';

export interface PublishRetryOptions {
  /** Attempts in all, the first included. @default 5 */
  attempts?: number;
  /** Delay before the first retry; it doubles with each retry (with jitter). @default 200 */
  baseDelayMs?: number;
  /** Longest delay between two attempts. @default 5000 */
  maxDelayMs?: number;
  /**
   * No attempt starts later than this after the first one, however many are left. Keep it well
   * inside the service's idempotency window (5 minutes by default): a retry after the window
   * would publish again. @default 60000
   */
  maxElapsedMs?: number;
}

/** A call that got no answer within its timeout; whether it went through is unknown, so it is retried. */
export class PublishTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`No answer within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/** Service answers that mean "not now" rather than "no". */
const transientCodes: ReadonlySet<string> = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT']);
const transientStatuses: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * Whether `error` may pass by itself, and how long the service asked to wait first. Undefined
 * when the error is final.
 */
export function transientFailure(error: unknown): { retryAfterMs: number } | undefined {
  if (error instanceof PublishTimeoutError) return { retryAfterMs: 0 };
  if (!isTRPCClientError(error)) return undefined;
  const data = error.data as { code?: string; httpStatus?: number } | null | undefined;
  // No answer from the service at all (the WebSocket closed or failed before or after sending,
  // or never opened): the publish may or may not have happened, which is exactly what the
  // idempotency key makes safe to retry.
  if (!data) return { retryAfterMs: 0 };
  if ((data.code !== undefined && transientCodes.has(data.code)) || (data.httpStatus !== undefined && transientStatuses.has(data.httpStatus))) {
    return { retryAfterMs: 0 };
  }
  if (data.code === 'TOO_MANY_REQUESTS') {
    // The rate limit says when ("retry in 120 ms"); a TOO_MANY_REQUESTS without a time is a
    // bound (a full room, too many subscriptions) that waiting does not lift.
    const retryIn = /retry in (\d+) ms/.exec(error.message);
    return retryIn ? { retryAfterMs: Number(retryIn[1]) } : undefined;
  }
  return undefined;
}

export interface RetryPolicy {
  /** `false`: one attempt, no retry. */
  retry: PublishRetryOptions | false;
  /** Each attempt gives up (and counts as transient) after this long. `0`: no timeout. */
  callTimeoutMs: number;
  /** Checked before each retry: a closed client stops retrying. */
  stopped: () => boolean;
  /**
   * Resolves true once the connection is up again, false if it is not within `timeoutMs`. A
   * retry waits for it: sent while the client is still reconnecting, it would only fail again
   * and use up an attempt without reaching the service.
   */
  connected?: (timeoutMs: number) => Promise<boolean>;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the attempts or time run out; then
 * rejects with the last error. `attempt` gets a signal that aborts when that attempt times out.
 */
export async function withRetry<T>(attempt: (signal: AbortSignal) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const attempts = policy.retry === false ? 1 : Math.max(1, policy.retry.attempts ?? 5);
  const baseDelayMs = policy.retry === false ? 0 : (policy.retry.baseDelayMs ?? 200);
  const maxDelayMs = policy.retry === false ? 0 : (policy.retry.maxDelayMs ?? 5_000);
  const deadline = Date.now() + (policy.retry === false ? 0 : (policy.retry.maxElapsedMs ?? 60_000));
  for (let attemptIndex = 0; ; attemptIndex++) {
    try {
      return await withTimeout(attempt, policy.callTimeoutMs);
    } catch (error) {
      const transient = transientFailure(error);
      if (!transient || attemptIndex + 1 >= attempts || policy.stopped()) throw error;
      const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** attemptIndex);
      // Jitter spreads the retries of many producers that failed together (a restart).
      const delayMs = Math.max(transient.retryAfterMs, backoff / 2 + Math.random() * (backoff / 2));
      if (Date.now() + delayMs > deadline) throw error;
      await sleep(delayMs);
      if (policy.stopped()) throw error;
      if (policy.connected && !(await policy.connected(deadline - Date.now()))) throw error;
      if (policy.stopped()) throw error;
    }
  }
}

async function withTimeout<T>(attempt: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  if (timeoutMs <= 0) return attempt(controller.signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Raced as well as aborted: a call that ignored its signal must still turn into a retry.
  // Not unref'd: a caller awaits this, and the process must not exit under it.
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PublishTimeoutError(timeoutMs);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const call = attempt(controller.signal);
  call.catch(() => {}); // A late failure of a call already given up on concerns nobody.
  try {
    return await Promise.race([call, timedOut]);
  } catch (error) {
    // The aborted call rejects with tRPC's own abort error; ours says what happened.
    throw controller.signal.aborted ? (controller.signal.reason as Error) : error;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
