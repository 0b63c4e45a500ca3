/** Renders a hook under a RealtimeProvider connected to a real test server, in StrictMode by default. */
import { cleanup, configure, renderHook } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import WebSocket from 'ws';
import { afterEach } from 'vitest';
import { RealtimeProvider } from '../../client/react/index.js';
import type { TokenSource } from '../../client/index.js';

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
}

export function renderWithProvider<Result, Props>(hook: (props: Props) => Result, setup: ProviderSetup, initialProps?: Props) {
  const wrapper = ({ children }: { children: ReactNode }) => {
    const tree = (
      <RealtimeProvider url={setup.url} token={setup.token} WebSocket={WebSocket as unknown as typeof globalThis.WebSocket} retryDelayMs={() => setup.retryDelayMs ?? 50}>
        {children}
      </RealtimeProvider>
    );
    return setup.strict === false ? tree : <StrictMode>{tree}</StrictMode>;
  };
  // Until the provider's client exists (one commit) the hook is not mounted: `result.current` is undefined.
  return renderHook<Result | undefined, Props>(hook, { wrapper, ...(initialProps !== undefined && { initialProps }) });
}
