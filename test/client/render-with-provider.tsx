/** Renders a hook under a RealtimeProvider connected to a real test server, in StrictMode by default. */
import { cleanup, configure, renderHook } from '@testing-library/react';
import { EventSource } from 'eventsource';
import { StrictMode, type ReactNode } from 'react';
import WebSocket from 'ws';
import { afterEach } from 'vitest';
import { RealtimeProvider } from '../../client/react/index.js';
import type { TokenSource, TransportChoice } from '../../client/index.js';

/** The transports the hook suites run over: the hooks must behave the same over each. */
export const hookTransports = ['websocket', 'sse'] as const satisfies readonly TransportChoice[];

// Real sockets on a shared two-core machine: give waits more than Testing Library's 1 s default.
configure({ asyncUtilTimeout: 5_000 });
// Vitest runs without globals, so Testing Library cannot register its own cleanup: a failed test
// must not leave its provider (and its socket) behind for the next one.
afterEach(() => cleanup());

export interface ProviderSetup {
  url: string;
  token: TokenSource;
  /** @default true */
  strict?: boolean;
  /** @default 50 */
  retryDelayMs?: number;
  /** @default 'websocket' */
  transport?: TransportChoice;
}

export function renderWithProvider<Result, Props>(hook: (props: Props) => Result, setup: ProviderSetup, initialProps?: Props) {
  const wrapper = ({ children }: { children: ReactNode }) => {
    const tree = (
      <RealtimeProvider
        url={setup.url}
        token={setup.token}
        transport={setup.transport ?? 'websocket'}
        WebSocket={WebSocket as unknown as typeof globalThis.WebSocket}
        EventSource={EventSource}
        retryDelayMs={() => setup.retryDelayMs ?? 50}
      >
        {children}
      </RealtimeProvider>
    );
    return setup.strict === false ? tree : <StrictMode>{tree}</StrictMode>;
  };
  // Until the provider's client exists (one commit) the hook is not mounted: `result.current` is undefined.
  return renderHook<Result | undefined, Props>(hook, { wrapper, ...(initialProps !== undefined && { initialProps }) });
}
