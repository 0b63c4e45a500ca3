/**
 * useRealtime (alias useWebSocket): the connection state and the everyday actions. The state
 * is read with useSyncExternalStore, so every component sees the same state in the same render.
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { ConnectionSnapshot, ConnectionState, SubscriptionTransport } from '../connection-state.js';
import type { RealtimeClient } from '../realtime-client.js';
import type { RouterInputs, RouterOutputs } from '../router-types.js';
import { useRealtimeContext } from './context.js';
import { trpc } from './trpc.js';

export type SelectablePresenceStatus = RouterInputs['presence']['update']['status'];

export interface RealtimeActions {
  joinRoom: (roomId: string) => Promise<RouterOutputs['rooms']['join']>;
  leaveRoom: (roomId: string) => Promise<RouterOutputs['rooms']['leave']>;
  /** Say "typing" again every few seconds while typing: the indicator expires by itself after ~5 s. */
  sendTyping: (roomId: string, isTyping: boolean) => Promise<RouterOutputs['typing']>;
  updatePresence: (
    status: SelectablePresenceStatus,
    metadata?: RouterInputs['presence']['update']['metadata'],
  ) => Promise<RouterOutputs['presence']['update']>;
}

export interface UseRealtimeResult extends RealtimeActions {
  state: ConnectionState;
  /** Why the connection is not open; null when open. */
  error: Error | null;
  /** What carries the subscriptions now (`transport: 'auto'` may move from `websocket` to `sse`). */
  transport: SubscriptionTransport;
  /** The signed-in user (the provider's `userId` or the token's `sub`). */
  userId: string | undefined;
  client: RealtimeClient;
}

/** The connection's `{ state, error, transport }`, re-rendering when the state changes (or a first error appears). */
export function useConnectionState(): ConnectionSnapshot {
  const { client } = useRealtimeContext();
  return useSyncExternalStore(client.subscribeToSnapshot, client.getSnapshot, client.getSnapshot);
}

export function useRealtime(): UseRealtimeResult {
  const { client, userId } = useRealtimeContext();
  const { state, error, transport } = useConnectionState();
  const utils = trpc.useUtils();
  const actions = useMemo<RealtimeActions>(
    () => ({
      joinRoom: (roomId) => client.api.rooms.join.mutate({ roomId }),
      leaveRoom: (roomId) => client.api.rooms.leave.mutate({ roomId }),
      sendTyping: (roomId, isTyping) => client.api.typing.mutate({ roomId, isTyping }),
      updatePresence: async (status, metadata) => {
        const presence = await client.api.presence.update.mutate({ status, ...(metadata && { metadata }) });
        // The caller's own presence reaches no stream of theirs unless they share a room: usePresence reads this.
        utils.presence.get.setData({ userId: presence.userId }, presence);
        return presence;
      },
    }),
    [client, utils],
  );
  return { state, error, transport, userId, client, ...actions };
}

/** The seed's connection state (`state.isConnected`), for useWebSocket. */
export interface WebSocketState {
  /** The closed union, as useRealtime's `state`. */
  status: ConnectionState;
  isConnected: boolean;
  isReconnecting: boolean;
  /** Why the connection is not open; null when open. */
  error: Error | null;
}

export interface UseWebSocketResult extends Omit<UseRealtimeResult, 'state'> {
  state: WebSocketState;
}

/**
 * The seed's name and shape: useRealtime with `state` as an object, so the seed's
 * `state.isConnected ? '🟢' : '🔴'` works as written.
 */
export function useWebSocket(): UseWebSocketResult {
  const realtime = useRealtime();
  const { state: status, error } = realtime;
  const state = useMemo<WebSocketState>(
    () => ({ status, isConnected: status === 'open', isReconnecting: status === 'reconnecting', error }),
    [status, error],
  );
  return { ...realtime, state };
}
