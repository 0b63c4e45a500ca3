// @vitest-environment jsdom
/**
 * The provider's shared streams start from the server's `streamHead`: a hook whose subscription
 * is dropped before it has received anything still gets, once, what was published while it was
 * away. Under StrictMode, over the WebSocket and over SSE, against a real server on port 0.
 */
import './node-realm.js';
import { cleanup, waitFor } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useEvent, useRealtime } from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep } from '../support/wait.js';
import { hookTransports, renderWithProvider } from './render-with-provider.js';

let t: TestServer;
const attachedSubscriptions = () => t.server.services.core.stats().subscriptions;
afterEach(async () => {
  cleanup();
  await waitFor(() => expect(attachedSubscriptions()).toBe(0));
});

describe.each(hookTransports)('over %s', (transport) => {
  beforeAll(async () => (t = await startServer()));
  afterAll(async () => t.stop());

  it('delivers what was published while a stream that had received nothing was away, once', async () => {
    const userId = `quiet-hook-${transport}`;
    const { core } = t.server.services;
    const notify = (title: string) => core.sendToUser(userId, 'notification.new', { title, message: '' });
    // Someone else's event, so the head is not the start of the stream.
    await core.sendToUser('someone-else', 'notification.new', { title: 'not-for-us', message: '' });
    const titles: string[] = [];
    const view = renderWithProvider(
      () => {
        useEvent('notification.new', (event) => titles.push(event.data.title));
        return useRealtime();
      },
      { url: t.url, token: await t.token(userId), retryDelayMs: 300, transport },
    );
    await waitFor(() => expect(view.result.current?.state).toBe('open'));
    // StrictMode's double mount still makes one subscription.
    await waitFor(() => expect(attachedSubscriptions()).toBe(1));

    t.dropAll();
    await notify('while-away-1');
    await notify('while-away-2');
    await waitFor(() => expect(titles).toEqual(['while-away-1', 'while-away-2']));
    await waitFor(() => expect(attachedSubscriptions()).toBe(1));
    await notify('after');
    await waitFor(() => expect(titles).toHaveLength(3));
    await sleep(50);
    expect(titles).toEqual(['while-away-1', 'while-away-2', 'after']);
    expect(attachedSubscriptions()).toBe(1);
    view.unmount();
  });
});
