/**
 * Reading what a tRPC WebSocket client sends before it is a parsed tRPC message: the
 * `connectionParams` message the official client sends first (with `?connectionParams=1`), and
 * the request id of a message that could not be parsed, so its sender still gets an answer.
 */
import { parseConnectionParamsFromUnknown } from '@trpc/server/http';

export type RequestId = string | number;

export function isConnectionParamsMessage(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { method?: unknown }).method === 'connectionParams';
}

/** The id of a message that failed to parse, when it has a usable one. */
export function requestIdOf(raw: unknown): RequestId | null {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** The token of a connectionParams message (possibly none); undefined when the message is something else. */
export function readConnectionParams(data: Buffer): { token?: string } | undefined {
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isConnectionParamsMessage(message)) return undefined;
  try {
    const params = parseConnectionParamsFromUnknown((message as { data?: unknown }).data);
    return typeof params?.token === 'string' ? { token: params.token } : {};
  } catch {
    return {};
  }
}

/** Longest string id a client may give a call or subscription (the official client uses small integers). */
export const maxRequestIdLength = 64;

/**
 * Whether a client-chosen request id is bounded: a safe integer, or a string of 1–64 characters.
 * A subscription's id is kept for as long as the subscription lives (in the index, in every
 * frame sent to it): with any id allowed, a client kept 58 kB per subscription (issue 13).
 */
export function isBoundedRequestId(id: unknown): id is RequestId {
  if (typeof id === 'number') return Number.isSafeInteger(id);
  return typeof id === 'string' && id.length >= 1 && id.length <= maxRequestIdLength;
}
