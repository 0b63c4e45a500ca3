/** The connection state, exactly the client's closed union, with the last error on hover. */
import type { ConnectionState } from '../../connection-state.js';

const labels: Record<ConnectionState, string> = {
  idle: 'Idle',
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Closed',
};

export function ConnectionBadge({ state, error }: { state: ConnectionState; error: Error | null }) {
  return (
    <span className="connection" data-testid="connection-state" data-state={state} title={error?.message ?? state}>
      {labels[state]}
    </span>
  );
}
