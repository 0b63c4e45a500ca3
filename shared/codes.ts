/**
 * Closed sets of codes that cross the wire: the error codes of the service and the WebSocket
 * close codes it uses. Clients switch on these; adding one is an API change.
 */

/** Error codes of the service. The API maps each to the tRPC code of the same name. */
export const errorCodes = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'TOO_MANY_REQUESTS',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/**
 * WebSocket close codes. 1000–1015 are the protocol's own; 4000–4999 are ours. Each close also
 * carries a short reason string.
 */
export const CloseCode = {
  /** The server is shutting down or restarting; reconnect (another process may answer). */
  GoingAway: 1001,
  /** A frame was larger than the configured maximum (`ws` maxPayload). */
  MessageTooBig: 1009,
  /** The token expired while connected; get a fresh token and reconnect. */
  TokenExpired: 4001,
  /**
   * The connection's token was missing, malformed, forged or expired when it connected (the
   * reason says which), or its first message was not `connectionParams`. Calls that arrived
   * before the verdict are answered UNAUTHORIZED first. Reconnecting with the same token fails again.
   */
  Unauthorized: 4401,
  /** No token arrived within the authentication window (`AUTH_TIMEOUT_MS`) after the socket opened. */
  AuthenticationTimeout: 4408,
  /** The connection's outgoing buffer passed its bound because the client did not read. */
  SlowConsumer: 4008,
  /** Too many connections from one address or for one user, or the server is at its connection limit. */
  TooManyConnections: 4029,
  /** The client sent messages far faster than its rate limit, repeatedly. */
  RateLimited: 4030,
  /** Keep-alive pings went unanswered. */
  DeadPeer: 4040,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * A retry hint: when the service sheds load or shuts down it says, in the close reason (and in
 * tRPC's `reconnect` request before it), how long the client should wait before coming back:
 * `"Server shutting down; retry in 1500 ms"`. The service spreads the hints it gives, so clients
 * dropped together do not all return in the same instant (a reconnect storm).
 */
export function withRetryHint(reason: string, retryInMs: number): string {
  return `${reason}; retry in ${Math.max(0, Math.round(retryInMs))} ms`;
}

/** The hint in a close reason or message, in milliseconds; undefined when there is none. */
export function retryHintOf(text: string): number | undefined {
  const match = /retry in (\d{1,7}) ms/.exec(text);
  return match ? Number(match[1]) : undefined;
}
