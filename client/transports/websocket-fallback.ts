/**
 * When `transport: 'auto'` gives up on the WebSocket. Some networks (corporate proxies, some
 * serverless hosts and mobile carriers) refuse or swallow the upgrade while plain HTTP works.
 * The signs, before any WebSocket of this client has opened: attempts that close without ever
 * opening, several in a row (a refused upgrade), or no socket open after a while (an upgrade the
 * proxy holds and never answers). Once a socket has opened, the network evidently lets them
 * through, and a later failure is an outage that reconnecting mends: no fallback then.
 *
 * Attempts are counted on the sockets themselves (a thin subclass of the WebSocket class), not
 * from tRPC's state observable, which reports one failed attempt more than once.
 */

export interface WebSocketFallbackOptions {
  /** Fall back after this many WebSocket attempts in a row close without opening. @default 2 */
  afterFailures?: number;
  /** Fall back when no WebSocket has opened this long after the client started. @default 5000 */
  timeoutMs?: number;
}

export class WebSocketFallbackWatch {
  private failures = 0;
  private settled = false;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly afterFailures: number;

  /** @param onFallback called at most once, when the WebSocket looks blocked. */
  constructor(
    options: WebSocketFallbackOptions,
    private readonly onFallback: () => void,
  ) {
    this.afterFailures = Math.max(1, options.afterFailures ?? 2);
    this.timer = setTimeout(() => this.fallBack(), options.timeoutMs ?? 5_000);
    // A client that is otherwise idle must not keep a Node process alive for this alone.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** `Base`, reporting to this watch whether each socket opened. */
  observe(Base: typeof WebSocket): typeof WebSocket {
    const watch = this;
    return class ObservedWebSocket extends Base {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        let opened = false;
        this.addEventListener('open', () => {
          opened = true;
          watch.opened();
        });
        this.addEventListener('close', () => {
          if (!opened) watch.failedAttempt();
        });
      }
    };
  }

  /** No fallback any more (the client closed). */
  stop(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }

  private opened(): void {
    this.failures = 0;
    this.stop();
  }

  private failedAttempt(): void {
    if (this.settled) return;
    if (++this.failures >= this.afterFailures) this.fallBack();
  }

  private fallBack(): void {
    if (this.settled) return;
    this.stop();
    this.onFallback();
  }
}
