// @vitest-environment jsdom
/**
 * The stateful hooks against a real server on port 0, under StrictMode, over the WebSocket and
 * over SSE alike (the other users connect over the WebSocket): room presence with
 * self-expiring typing, agent progress (live and seeded mid-run), governance approvals (seeded,
 * live, approved from the hook, expired by the server), notifications with cross-device read
 * state, and presence kept live.
 */
import './node-realm.js';
import { cleanup, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRealtimeClient, type RealtimeClient } from '../../client/index.js';
import {
  useAgentEvents,
  useGovernanceEvents,
  useNotifications,
  usePresence,
  useRealtime,
  useRoomPresence,
} from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';
import { hookTransports, renderWithProvider } from './render-with-provider.js';

let t: TestServer;
/** Subscriptions indexed by the core: once counted here, an event published reaches them. */
const attachedSubscriptions = () => t.server.services.core.stats().subscriptions;

const others = new Set<RealtimeClient>();
afterEach(async () => {
  cleanup();
  await Promise.all([...others].map((client) => client.close()));
  others.clear();
  await waitFor(() => expect(t.server.transport.connectionCount).toBe(0));
  // SSE streams are connections of the core, not of the WebSocket transport.
  await waitFor(() => expect(t.server.services.core.localConnectionCount).toBe(0));
  expect(t.server.transport.subscriptionCount).toBe(0);
  expect(attachedSubscriptions()).toBe(0);
});

async function otherClient(userId: string): Promise<RealtimeClient> {
  const client = createRealtimeClient({
    url: t.wsUrl,
    token: await t.token(userId),
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 50,
  });
  others.add(client);
  return client;
}

describe.each(hookTransports)('over %s', (transport) => {
  // A server per transport, so that one run's rooms, actions and presence do not meet the other's.
  // The server's own typing expiry is far away, so a typist cleared here was cleared by the hook.
  beforeAll(async () => (t = await startServer({ typingExpireMs: 60_000 })));
  afterAll(async () => t.stop());

  describe('useRoomPresence', () => {
    it('holds the room, tracks members and their presence, and expires typing by itself', async () => {
      const view = renderWithProvider(() => useRoomPresence('lobby', { typingTimeoutMs: 300 }), {
        url: t.url,
        token: await t.token('alice'),
        transport,
      });
      await waitFor(() => expect([...(view.result.current?.members.keys() ?? [])]).toEqual(['alice']));
      expect(view.result.current?.members.get('alice')).toMatchObject({ status: 'online' });

      const bob = await otherClient('bob');
      const stopBob = bob.subscribeToRoom('lobby', () => {});
      await waitFor(() => expect(view.result.current?.members.has('bob')).toBe(true));

      await bob.api.presence.update.mutate({ status: 'busy' });
      await waitFor(() => expect(view.result.current?.members.get('bob')?.status).toBe('busy'));

      await bob.api.typing.mutate({ roomId: 'lobby', isTyping: true });
      await waitFor(() => expect(view.result.current?.typingUsers.has('bob')).toBe(true));
      // No "stopped" event comes (the server would wait a minute): the hook clears it after 300 ms.
      await waitFor(() => expect(view.result.current?.typingUsers.size).toBe(0), { timeout: 2_000 });

      stopBob();
      await waitFor(() => expect(view.result.current?.members.has('bob')).toBe(false));
      // StrictMode's double mount reused the subscription: alice never left the room.
      const history = await t.server.services.core.history({ roomId: 'lobby', type: 'room.left' });
      expect(history.filter((event) => event.type === 'room.left' && event.data.userId === 'alice')).toEqual([]);
      view.unmount();
    });
  });

  describe('useAgentEvents', () => {
    it('follows a run live and shows a run already under way when mounted', async () => {
      const { services } = t.server;
      const view = renderWithProvider(() => useAgentEvents('agent-live'), { url: t.url, token: await t.token('carol'), transport });
      await waitFor(() => expect(view.result.current?.status).toBe('idle'));
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      await services.emitAgentEvent('agent-live', 'agent.started', 'carol', { task: 'index' });
      await services.emitAgentEvent('agent-live', 'agent.progress', 'carol', { progress: 30, step: 'reading' });
      await waitFor(() => expect(view.result.current).toMatchObject({ status: 'running', progress: 30, step: 'reading' }));
      await services.emitAgentEvent('agent-live', 'agent.complete', 'carol', { result: { files: 3 } });
      await waitFor(() => expect(view.result.current).toMatchObject({ status: 'complete', progress: 100, result: { files: 3 } }));
      expect(view.result.current?.events.map((event) => event.type)).toEqual(['agent.started', 'agent.progress', 'agent.complete']);
      view.unmount();

      await services.emitAgentEvent('agent-midway', 'agent.started', 'carol', {});
      await services.emitAgentEvent('agent-midway', 'agent.progress', 'carol', { progress: 60 });
      const late = renderWithProvider(() => useAgentEvents('agent-midway'), { url: t.url, token: await t.token('carol'), transport });
      await waitFor(() => expect(late.result.current).toMatchObject({ status: 'running', progress: 60 }));
      await services.emitAgentEvent('agent-midway', 'agent.error', 'carol', { error: 'disk full' });
      await waitFor(() => expect(late.result.current).toMatchObject({ status: 'error', error: 'disk full' }));
      late.unmount();
    });
  });

  describe('useGovernanceEvents', () => {
    it('lists pending actions (seeded and live), removes approved and expired ones', async () => {
      const { governance } = t.server.services;
      await governance.request({ actionId: 'seeded', action: 'deploy', approvers: ['dave'], requesterId: 'worker' });
      const view = renderWithProvider(() => useGovernanceEvents(), { url: t.url, token: await t.token('dave'), transport });
      await waitFor(() => expect(view.result.current?.pendingActions.map((action) => action.actionId)).toEqual(['seeded']));

      await governance.request({ actionId: 'live', action: 'delete', approvers: ['dave'], requesterId: 'worker' });
      await governance.request({ actionId: 'not-daves', action: 'delete', approvers: ['erin'], requesterId: 'worker' });
      await governance.request({ actionId: 'short', action: 'wipe', approvers: ['dave'], requesterId: 'worker', expiresInMs: 300 });
      await waitFor(() => expect(view.result.current?.pendingActions.map((action) => action.actionId)).toContain('live'));

      await view.result.current!.approve('seeded', 'looks fine');
      expect(governance.get('seeded')).toMatchObject({ status: 'approved', decidedBy: 'dave', reason: 'looks fine' });
      await waitFor(() => expect(view.result.current?.pendingActions.map((action) => action.actionId)).toEqual(['live']), {
        timeout: 3_000,
      });
      await view.result.current!.reject('live');
      await waitFor(() => expect(view.result.current?.pendingActions).toEqual([]));
      await expect(view.result.current!.approve('not-daves')).rejects.toThrow(/not an approver/);
      view.unmount();
    });

    it('shows the approvals so far of an action that needs a quorum', async () => {
      const { governance } = t.server.services;
      const actionId = `quorum-${transport}`;
      await governance.request({ actionId, action: 'deploy', approvers: ['gina', 'hugo', 'ivan'], quorum: 2, requesterId: 'worker' });
      const view = renderWithProvider(() => useGovernanceEvents(), { url: t.url, token: await t.token('gina'), transport });
      await waitFor(() => expect(view.result.current?.pendingActions.find((action) => action.actionId === actionId)).toMatchObject({ quorum: 2, approvals: [] }));
      await governance.decide(actionId, 'approved', { userId: 'hugo', isAdmin: false });
      await waitFor(() => expect(view.result.current?.pendingActions.find((action) => action.actionId === actionId)).toMatchObject({ approvals: ['hugo'] }));
      await governance.decide(actionId, 'approved', { userId: 'ivan', isAdmin: false });
      await waitFor(() => expect(view.result.current?.pendingActions.map((action) => action.actionId)).not.toContain(actionId));
      view.unmount();
    });
  });

  describe('useNotifications', () => {
    it('lists notifications newest first and shares read state across devices', async () => {
      const { core } = t.server.services;
      const view = renderWithProvider(() => useNotifications(), { url: t.url, token: await t.token('frank'), transport });
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      const first = await core.sendToUser('frank', 'notification.new', { title: 'first', message: '' });
      const second = await core.sendToUser('frank', 'notification.new', { title: 'second', message: '', level: 'warning' });
      await waitFor(() => expect(view.result.current?.unreadCount).toBe(2));
      expect(view.result.current?.notifications.map((notification) => notification.id)).toEqual([second.id, first.id]);

      await view.result.current!.markRead(first.id);
      expect(view.result.current?.unreadCount).toBe(1);
      const otherDevice = await otherClient('frank');
      await otherDevice.api.notifications.markRead.mutate({ notificationId: second.id });
      await waitFor(() => expect(view.result.current?.unreadCount).toBe(0));
      await sleep(30);
      expect(view.result.current?.notifications).toHaveLength(2);
      view.unmount();
    });
  });

  describe('usePresence', () => {
    it("shows the caller's own presence and follows their updates, and another user's in a shared room", async () => {
      const view = renderWithProvider(
        () => ({ mine: usePresence(), gina: usePresence('gina'), room: useRoomPresence('shared'), realtime: useRealtime() }),
        { url: t.url, token: await t.token('hank'), transport },
      );
      await waitFor(() => expect(view.result.current?.mine.status).toBe('online'));
      await view.result.current!.realtime.updatePresence('away');
      await waitFor(() => expect(view.result.current?.mine.status).toBe('away'));

      const gina = await otherClient('gina');
      gina.subscribeToRoom('shared', () => {});
      await waitFor(() => expect(view.result.current?.room.members.has('gina')).toBe(true));
      await gina.api.presence.update.mutate({ status: 'busy' });
      await waitFor(() => expect(view.result.current?.gina.status).toBe('busy'));
      view.unmount();
    });
  });
});
