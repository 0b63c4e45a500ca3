/**
 * The producer client's one WebSocket as its parts (runs, approvals) use it: the typed API and
 * publishing under an idempotency key, long-lived subscriptions that tell a reconnect from the
 * first start, waiting for tRPC's own reconnect before a retry, and the endpoint and error-code
 * details of the connection.
 */
import { isTRPCClientError, type TRPCClient, type TRPCWebSocketClient } from '@trpc/client';
import type { AppRouter } from '../server/api/router.js';
import type { RealtimeEvent } from '../shared/events.js';

/**
 * Idempotency for one publish. Give a key that is stable across restarts of your worker (a
 * job id and step, say) to have a publish resent after a crash still shown once; by default
 * each call makes its own (random) key, which covers the retries of that call.
 */
export interface PublishOptions {
  /** At most 128 characters; unique per logical publish. @default crypto.randomUUID() */
  idempotencyKey?: string;
}

/** What the producer's parts share, all over the client's one WebSocket. */
export interface ProducerContext {
  api: TRPCClient<AppRouter>;
  /** Sends one logical publish, retried under its one key; `send` gets the attempt's timeout signal. */
  publish: <T>(send: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /** A new idempotency key, for a publish given none. */
  newKey: () => string;
  /** Failures no caller awaits (a subscription error, a background re-check). */
  reportError: (error: unknown, context: string) => void;
  /** Whether the client has been closed. */
  isClosed: () => boolean;
}

export type Watch = { ready: Promise<void>; readonly failed: boolean; stop(): void };

type Handlers = {
  onStarted: () => void;
  onData: (value: { id: string; data: RealtimeEvent }) => void;
  onError: (error: unknown) => void;
};

/**
 * One long-lived subscription. `ready` resolves when the server has it (the 'started' reply
 * comes after the subscriber is indexed, so nothing published later is missed); every later
 * start is a reconnect, after which `onRestart` re-reads what the stream may have missed.
 */
export function watch(
  subscribe: (handlers: Handlers) => { unsubscribe(): void },
  onEvent: (event: RealtimeEvent) => void,
  onRestart: () => void,
  reportError: (error: unknown, context: string) => void,
): Watch {
  let starts = 0;
  let failed = false;
  let subscription: { unsubscribe(): void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    subscription = subscribe({
      onStarted: () => {
        if (starts++ === 0) resolve();
        else onRestart();
      },
      onData: (value) => onEvent(value.data),
      onError: (error) => {
        failed = true;
        reject(error);
        reportError(error, 'subscription failed');
      },
    });
  });
  ready.catch(() => {}); // The caller that awaits `ready` sees the failure; nobody else needs to.
  return {
    ready,
    get failed() {
      return failed;
    },
    stop: () => subscription?.unsubscribe(),
  };
}

/**
 * Resolves true once `client` is connected, false after `timeoutMs` or when it is closed. tRPC
 * reconnects by itself after a delay; a call made before that opens a socket of its own, which
 * the reconnect then closes under it, so a retry waits for the reconnect instead.
 */
export function connected(client: TRPCWebSocketClient, timeoutMs: number): Promise<boolean> {
  if (client.connectionState.get().state === 'pending') return Promise.resolve(true);
  return new Promise((resolve) => {
    let settled = false;
    let subscription: { unsubscribe(): void } | undefined;
    const settle = (isConnected: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      subscription?.unsubscribe();
      resolve(isConnected);
    };
    const timer = setTimeout(() => settle(false), Math.max(0, timeoutMs));
    subscription = client.connectionState.subscribe({
      next: (state) => {
        if (state.state === 'pending') settle(true);
        else if (state.state === 'idle') settle(false);
      },
    });
    if (settled) subscription.unsubscribe();
  });
}

export function webSocketUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/trpc';
  return parsed.toString();
}

export function errorCode(error: unknown): string | undefined {
  return isTRPCClientError(error) ? (error.data as { code?: string } | undefined)?.code : undefined;
}
