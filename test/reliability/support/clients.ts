/** Official @trpc/client connections for reliability tests that need their own wsClient options. */
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';
import type { AppRouter } from '../../../server/api/router.js';
import type { RealtimeEvent } from '../../../shared/events.js';

export interface OfficialClient {
  api: TRPCClient<AppRouter>;
  close(): Promise<void>;
}

export interface OfficialClientOptions {
  /** @default 50 */
  retryDelayMs?: number;
  /** Replaces the `ws` class, e.g. with one bound to another local address. */
  webSocket?: typeof WebSocket;
  onClose?: (cause?: { code?: number }) => void;
}

/** `token` may be a function: connectionParams are read on every (re)connect, so a client can hand over a refreshed token. */
export function officialClient(wsUrl: string, token: string | (() => string), options: OfficialClientOptions = {}): OfficialClient {
  const wsClient = createWSClient({
    url: wsUrl,
    WebSocket: (options.webSocket ?? WebSocket) as never,
    connectionParams: async () => ({ token: typeof token === 'function' ? token() : token }),
    retryDelayMs: () => options.retryDelayMs ?? 50,
    ...(options.onClose && { onClose: options.onClose }),
  });
  return {
    api: createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] }),
    close: () => wsClient.close(),
  };
}

/** Parsed tRPC WebSocket messages as a raw socket sees them (the transformer's JSON, not revived). */
export interface RawResponse {
  id: string | number | null;
  method?: string;
  result?: { type: 'started' | 'stopped' | 'data'; id?: string; data?: { json?: unknown } };
  error?: { json?: { message?: string; code?: number; data?: { code?: string } } };
}

export const asResponses = (messages: unknown[]): RawResponse[] =>
  messages.filter((message): message is RawResponse => typeof message === 'object' && message !== null);

/** The event of a raw `data` message, as JSON (timestamps are strings here). */
export function eventOf(message: RawResponse): (Omit<RealtimeEvent, 'timestamp'> & { timestamp: string }) | undefined {
  if (message.result?.type !== 'data') return undefined;
  const payload = message.result.data?.json as { data?: Omit<RealtimeEvent, 'timestamp'> & { timestamp: string } } | undefined;
  return payload?.data;
}

export interface PlainSocket {
  socket: WebSocket;
  messages: RawResponse[];
  closed: Promise<{ code: number; reason: string }>;
  send(value: unknown): void;
}

/**
 * A raw socket that expects connectionParams but has not sent them yet: the caller sends them
 * (`signIn`) when it chooses, e.g. in the same write as its first calls.
 * `autoPong: false` makes a peer that never answers pings: one whose cable was pulled.
 */
export async function openPlainSocket(wsUrl: string, options: { autoPong?: boolean } = {}): Promise<PlainSocket> {
  const socket = new WebSocket(`${wsUrl}?connectionParams=1`, { autoPong: options.autoPong ?? true });
  const messages: RawResponse[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as RawResponse));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages, closed, send: (value) => socket.send(typeof value === 'string' ? value : JSON.stringify(value)) };
}

export const connectionParamsMessage = (token: string) => ({ method: 'connectionParams', data: { token } });
