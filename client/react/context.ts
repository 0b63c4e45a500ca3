/** What RealtimeProvider gives its subtree: the client, the shared stream hub, and who we are. */
import { createContext, useContext } from 'react';
import type { RealtimeClient } from '../realtime-client.js';
import type { StreamHub } from './stream-hub.js';

export interface RealtimeContextValue {
  readonly client: RealtimeClient;
  readonly hub: StreamHub;
  /** The signed-in user: the provider's `userId`, else the token's `sub` claim (once read). */
  readonly userId: string | undefined;
}

export const RealtimeContext = createContext<RealtimeContextValue | null>(null);

export function useRealtimeContext(): RealtimeContextValue {
  const value = useContext(RealtimeContext);
  if (!value) throw new Error('Realtime hooks must be used inside <RealtimeProvider>');
  return value;
}

/** The vanilla client of the nearest provider (for procedures no hook wraps). */
export function useRealtimeClient(): RealtimeClient {
  return useRealtimeContext().client;
}
