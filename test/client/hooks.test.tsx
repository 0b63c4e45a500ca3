// @vitest-environment jsdom
/**
 * The provider and the event hooks against a real server on port 0, under React 19 StrictMode,
 * over the WebSocket and over SSE alike: one connection and one shared subscription despite the
 * double mount, each event once, handlers swapped without resubscribing, and no loss across a
 * connection the server dropped.
 */
import './node-realm.js';
import { cleanup, waitFor } from '@testing-library/react';
import { useEffect, useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useEvent, useRealtime, type ConnectionState } from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';
import { hookTransports, renderWithProvider } from './render-with-provider.js';

let t: TestServer;
/** Subscriptions indexed by the core: once counted here, an event published reaches them. */
const attachedSubscriptions = () => t.server.services.core.stats().subscriptions;

/** Sockets and SSE streams alike are connections of the core. */
const coreConnections = () => t.server.services.core.localConnectionCount;
const settled = async () => {
  await waitFor(() => expect(t.server.transport.connectionCount).toBe(0));
  await waitFor(() => expect(coreConnections()).toBe(0));
  expect(t.server.transport.subscriptionCount).toBe(0);
  expect(attachedSubscriptions()).toBe(0);
};
// Also after a failed test: unmount what it left, so the next test starts from zero.
afterEach(async () => {
  cleanup();
  await settled();
});

describe.each(hookTransports)('over %s', (transport) => {
  // A server per transport, so that one run's rooms and presence do not meet the other's.
  beforeAll(async () => (t = await startServer()));
  afterAll(async () => t.stop());

  describe('RealtimeProvider and useRealtime', () => {
    it('opens one connection under StrictMode and closes it on unmount', async () => {
      const view = renderWithProvider(
        () => {
          // Over SSE a subscription is the connection: without one the client stays idle.
          useEvent('notification.new', () => {});
          return useRealtime();
        },
        { url: t.url, token: await t.token('provider-user'), transport },
      );
      await waitFor(() => expect(view.result.current?.state).toBe('open'));
      expect(view.result.current?.userId).toBe('provider-user');
      expect(view.result.current?.transport).toBe(transport);
      await sleep(50);
      expect(coreConnections()).toBe(1);
      expect(t.server.transport.connectionCount).toBe(transport === 'websocket' ? 1 : 0);
      view.unmount();
      await settled();
    });

    it('joins and leaves rooms, and reports typing, through the typed actions', async () => {
      const view = renderWithProvider(
        () => {
          // Presence needs a connection: over SSE, an open stream.
          useEvent('notification.new', () => {});
          return useRealtime();
        },
        { url: t.url, token: await t.token('actions-user'), transport },
      );
      await waitFor(() => expect(view.result.current?.state).toBe('open'));
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      const actions = view.result.current!;
      await expect(actions.joinRoom('actions-room')).resolves.toMatchObject({ roomId: 'actions-room', members: ['actions-user'] });
      await expect(actions.sendTyping('actions-room', true)).resolves.toEqual({ ok: true });
      await expect(actions.updatePresence('busy')).resolves.toMatchObject({ userId: 'actions-user', status: 'busy' });
      await expect(actions.leaveRoom('actions-room')).resolves.toEqual({ left: true });
      view.unmount();
      await settled();
    });
  });

  describe('useEvent', () => {
    it('shares one subscription, delivers each event once, and swaps handlers without resubscribing', async () => {
      const seen: string[] = [];
      const maintenance: string[] = [];
      const view = renderWithProvider(
        ({ tag }: { tag: string }) => {
          useEvent('notification.new', (event) => seen.push(`${tag}:${event.data.title}`));
          useEvent(['system.maintenance'], (event) => maintenance.push(event.data.message));
          return useRealtime();
        },
        { url: t.url, token: await t.token('event-user'), transport },
        { tag: 'a' },
      );
      await waitFor(() => expect(view.result.current?.state).toBe('open'));
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      const { core } = t.server.services;
      await core.sendToUser('event-user', 'notification.new', { title: 'one', message: '' });
      await core.broadcastToAll('system.maintenance', { message: 'tonight' });
      await waitFor(() => expect(seen).toEqual(['a:one']));
      await waitFor(() => expect(maintenance).toEqual(['tonight']));

      view.rerender({ tag: 'b' });
      await core.sendToUser('event-user', 'notification.new', { title: 'two', message: '' });
      await waitFor(() => expect(seen).toEqual(['a:one', 'b:two']));
      await sleep(50);
      expect(seen).toEqual(['a:one', 'b:two']);
      expect(maintenance).toEqual(['tonight']);
      expect(attachedSubscriptions()).toBe(1);
      view.unmount();
      await settled();
    });

    it('after the server drops the socket, reconnects and delivers what was sent meanwhile, once', async () => {
      const titles: string[] = [];
      const view = renderWithProvider(
        () => {
          const realtime = useRealtime();
          const [states, setStates] = useState<ConnectionState[]>([]);
          useEffect(() => setStates((previous) => [...previous, realtime.state]), [realtime.state]);
          useEvent('notification.new', (event) => titles.push(event.data.title));
          return { ...realtime, states };
        },
        { url: t.url, token: await t.token('reconnect-user'), retryDelayMs: 300, transport },
      );
      await waitFor(() => expect(view.result.current?.state).toBe('open'));
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      const { core } = t.server.services;
      const send = (title: string) => core.sendToUser('reconnect-user', 'notification.new', { title, message: '' });
      await send('before');
      await waitFor(() => expect(titles).toEqual(['before']));

      t.dropAll();
      await send('while-away-1');
      await send('while-away-2');
      await waitFor(() => expect(view.result.current?.state).toBe('reconnecting'));
      await waitFor(() => expect(view.result.current?.state).toBe('open'), { timeout: 5_000 });
      await waitFor(() => expect(attachedSubscriptions()).toBe(1));
      await send('after');
      await waitFor(() => expect(titles).toHaveLength(4));
      await sleep(50);
      expect(titles).toEqual(['before', 'while-away-1', 'while-away-2', 'after']);
      expect(view.result.current?.states.slice(-3)).toEqual(['open', 'reconnecting', 'open']);
      view.unmount();
      await settled();
    });

    it('reports a subscription the server refuses through onError', async () => {
      const errors: Error[] = [];
      const view = renderWithProvider(
        () => useEvent('sphere.updated', () => {}, { scope: 'all', onError: (error) => errors.push(error) }),
        { url: t.url, token: await t.token('not-an-admin'), transport },
      );
      await waitFor(() => expect(errors).toHaveLength(1));
      expect(errors[0]!.message).toMatch(/admin/);
      view.unmount();
      await settled();
    });
  });
});
