/**
 * Honours the service's retry hint (shared/codes.ts): a WebSocket refused while the service sheds
 * load, or asked to reconnect because it shuts down, is told how long to stay away. tRPC's
 * `createWSClient` asks `retryDelayMs(attempt)` and knows nothing of close reasons, so the socket
 * class is wrapped to read the hint from the `reconnect` request and the close reason first
 * (its listeners are added before the client's own), and the delay is the later of the hint
 * (with a little jitter of its own) and the jittered backoff.
 */
import { retryHintOf } from '../../shared/codes.js';

/** The `reconnect` request is short; any longer text message is an event, not worth searching. */
const maxReconnectMessageLength = 256;

export class RetryHint {
  private hintMs: number | undefined;

  /** The delay before attempt `attempt`: the backoff, or the hint when it is later. A hint is used once. */
  delay(backoff: (attempt: number) => number): (attempt: number) => number {
    return (attempt) => {
      const hinted = this.hintMs;
      this.hintMs = undefined;
      const delay = backoff(attempt);
      return hinted === undefined ? delay : Math.max(delay, Math.round(hinted * (1 + Math.random() / 10)));
    };
  }

  /** A WebSocket class that reports hints to this; otherwise the same class. */
  observe(WebSocketClass: typeof WebSocket): typeof WebSocket {
    const hint = this;
    return class HintedWebSocket extends WebSocketClass {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.addEventListener('message', (event: MessageEvent) => {
          if (typeof event.data === 'string' && event.data.length <= maxReconnectMessageLength && event.data.includes('"reconnect"')) hint.note(event.data);
        });
        this.addEventListener('close', (event: CloseEvent) => hint.note(event.reason ?? ''));
      }
    };
  }

  private note(text: string): void {
    const retryInMs = retryHintOf(text);
    if (retryInMs !== undefined) this.hintMs = retryInMs;
  }
}
