/** The connection state, exactly the client's closed union, with the last error on hover, and SSE when that carries it. */
import type { ConnectionState, SubscriptionTransport } from '../../connection-state.js';

const labels: Record<ConnectionState, string> = {
  idle: 'Idle',
  connecting: 'Connecting…',
  failed: 'Cannot connect',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Closed',
};

export function ConnectionBadge({ state, error, transport }: { state: ConnectionState; error: Error | null; transport: SubscriptionTransport }) {
  return (
    <span className="connection" data-testid="connection-state" data-state={state} data-transport={transport} title={error?.message ?? state}>
      {labels[state]}
      {transport === 'sse' ? ' · SSE' : ''}
    </span>
  );
}
