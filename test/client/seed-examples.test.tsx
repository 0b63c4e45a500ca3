// @vitest-environment jsdom
/**
 * The seed's React examples (shared/seed/sprint-22-websocket-events.md, "REACT USAGE") as
 * written, against a real server: `WebSocketProvider url="ws://…/ws" userId token`,
 * `useWebSocket()`'s `state.isConnected`, `joinRoom`, `useEvent`, `useAgentEvents`,
 * `useGovernanceEvents` with `action.eventId` as the key, `useRoomPresence`. Changes to the
 * seed's text: the import path, parameter types (the seed is untyped, the stock tsconfig is
 * strict), and the provider's `WebSocket` prop (Node 20 has no usable global WebSocket here).
 */
import './node-realm.js';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  WebSocketProvider,
  useAgentEvents,
  useEvent,
  useGovernanceEvents,
  useRoomPresence,
  useWebSocket,
} from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';

let t: TestServer;
let seedUrl: string;
beforeAll(async () => {
  t = await startServer();
  seedUrl = `${t.wsUrl.replace(/\/trpc$/, '')}/ws`;
});
afterAll(async () => t.stop());
afterEach(() => cleanup());

const toasts: string[] = [];
const toast = { show: (message: string) => toasts.push(message) };

// ── the seed's components ────────────────────────────────────────────────────────────────────

function MyComponent() {
  const { state, joinRoom, sendTyping } = useWebSocket();

  // Subscribe to event
  useEvent('notification.new', (event) => {
    toast.show(event.data.message);
  });

  void sendTyping;
  return (
    <div>
      <span>Status: {state.isConnected ? '🟢' : '🔴'}</span>
      <button onClick={() => joinRoom('project:123')}>Join</button>
    </div>
  );
}

function AgentStatus({ agentId }: { agentId: string }) {
  const { status, progress, result, error } = useAgentEvents(agentId);

  void result;
  return (
    <div>
      <p>Status: {status}</p>
      <progress value={progress} max={100} />
      {error && <p className="error">{error}</p>}
    </div>
  );
}

function ApprovalCard({ action }: { action: { action: string } }) {
  return <li>{action.action}</li>;
}

function GovernancePanel() {
  const { pendingActions } = useGovernanceEvents();

  return (
    <div>
      <h3>Pending Approvals ({pendingActions.length})</h3>
      {pendingActions.map((action) => (
        <ApprovalCard key={action.eventId} action={action} />
      ))}
    </div>
  );
}

function RoomMembers({ roomId }: { roomId: string }) {
  const { members, typingUsers } = useRoomPresence(roomId);

  return (
    <div>
      <p>{members.size} members online</p>
      {typingUsers.size > 0 && <p>{Array.from(typingUsers).join(', ')} typing...</p>}
    </div>
  );
}

function App({ user, authToken }: { user: { id: string }; authToken: string }) {
  return (
    <WebSocketProvider url={seedUrl} userId={user.id} token={authToken} WebSocket={WebSocket as unknown as typeof globalThis.WebSocket}>
      <MyComponent />
      <AgentStatus agentId="agent_456" />
      <GovernancePanel />
      <RoomMembers roomId="project:123" />
    </WebSocketProvider>
  );
}

// ── the test ─────────────────────────────────────────────────────────────────────────────────

describe("the seed's React usage", () => {
  it('connects through the seed url, and every example shows live data', async () => {
    render(<App user={{ id: 'user_456' }} authToken={await t.token('user_456')} />);
    await screen.findByText('Status: 🟢', {}, { timeout: 5_000 });

    fireEvent.click(screen.getByText('Join'));
    await screen.findByText('1 members online', {}, { timeout: 5_000 });

    const { services } = t.server;
    await services.emitAgentEvent('agent_456', 'agent.started', 'user_456', { task: 'analyze' });
    await services.emitAgentEvent('agent_456', 'agent.progress', 'user_456', { progress: 40, step: 'analyzing' });
    await screen.findByText('Status: running', {}, { timeout: 5_000 });

    const requested = await services.governance.request({ action: 'delete_project', approvers: ['user_456'], requesterId: 'agent_456' });
    await screen.findByText('Pending Approvals (1)', {}, { timeout: 5_000 });
    expect(screen.getByText('delete_project')).toBeTruthy();
    expect(requested.eventId).toMatch(/^\w+-\d+$/);

    await services.core.sendToUser('user_456', 'notification.new', { title: 'Hi', message: 'Server restart in 5 minutes' });
    await waitFor(() => expect(toasts).toEqual(['Server restart in 5 minutes']), { timeout: 5_000 });
  });
});
