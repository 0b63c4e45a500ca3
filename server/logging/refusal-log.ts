/**
 * Logging of refused input (bad frames, protocol violations, oversized messages, peers that
 * vanish mid-handshake): below error level, without a stack, and rate-limited.
 *
 * Why: refused input is the client's fault and costs the server nothing more than its answer;
 * each one used to write an error-level line with a stack (issue 13), so any unauthenticated
 * socket could make the service write as many lines as it sent frames, fill its disk or stall its
 * log pipe, and bury real errors. At most `maxPerWindow` lines per `windowMs` are written; the
 * rest are counted and summed up in one line when the next window starts.
 */

/** What one refused input is logged with: where, a short code, a short message. */
export interface RefusalRecord {
  context: string;
  code?: string;
  reason: string;
  /** How many refusals of the last window were not logged (summary lines only). */
  suppressed?: number;
}

export interface RefusalLogOptions {
  /** Where a line goes: main.ts passes pino's `warn`. @default console.warn */
  write?: (record: RefusalRecord, message: string) => void;
  /** @default 10 */
  maxPerWindow?: number;
  /** @default 10000 */
  windowMs?: number;
  now?: () => number;
}

export class RefusalLog {
  /** Every refusal seen, logged or not. */
  total = 0;
  /** Refusals not logged because of the rate limit. */
  suppressed = 0;
  private windowStart = 0;
  private inWindow = 0;
  private suppressedInWindow = 0;
  private readonly write: (record: RefusalRecord, message: string) => void;
  private readonly maxPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: RefusalLogOptions = {}) {
    this.write = options.write ?? ((record, message) => console.warn(`[realtime] ${message}`, record));
    this.maxPerWindow = options.maxPerWindow ?? 10;
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Records one refused input; writes it unless this window's lines are used up. `error` may be
   * an Error (only its code and message are kept) or a message.
   */
  refused(context: string, error: unknown): void {
    this.total++;
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressedInWindow > 0) {
        this.safeWrite(
          { context: 'refusals', reason: 'rate-limited', suppressed: this.suppressedInWindow },
          `${this.suppressedInWindow} refused inputs not logged in the last ${Math.round((now - this.windowStart) / 1000)} s`,
        );
      }
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressedInWindow = 0;
    }
    if (this.inWindow >= this.maxPerWindow) {
      this.suppressed++;
      this.suppressedInWindow++;
      return;
    }
    this.inWindow++;
    const { code, reason } = describe(error);
    this.safeWrite({ context, ...(code !== undefined && { code }), reason }, `refused: ${context}`);
  }

  /** Logging must never throw into the path that refused the input. */
  private safeWrite(record: RefusalRecord, message: string): void {
    try {
      this.write(record, message);
    } catch {
      // nothing sensible to do: the refusal itself was already answered
    }
  }
}

function describe(error: unknown): { code?: string; reason: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { ...(typeof code === 'string' && { code }), reason: error.message.slice(0, 200) };
  }
  return { reason: String(error).slice(0, 200) };
}

/**
 * Errors that a peer causes by what it sends or by going away: `ws`'s protocol errors
 * (WS_ERR_*: bad UTF-8, reserved bits, frames over the size limit), connection resets and broken
 * pipes, HTTP parser errors. They are refusals, not failures of the service.
 */
export function isPeerError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return false;
  return code.startsWith('WS_ERR_') || code.startsWith('HPE_') || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT';
}
