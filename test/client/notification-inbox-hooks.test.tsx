// @vitest-environment jsdom
/**
 * useNotifications over a server that keeps inboxes (issue 21, PostgreSQL in a throwaway
 * database): a page opened after notifications were sent lists them from the stored inbox with
 * their read state, then follows live events without listing one twice; markAllRead reaches the
 * stored inbox and the caller's other devices.
 */
import './node-realm.js';
import { waitFor } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNotifications } from '../../client/react/index.js';
import { createThrowawayDatabase, requirePostgres, type ThrowawayDatabase } from '../support/postgres.js';
import { startServer, type TestServer } from '../support/server.js';
import { renderWithProvider } from './render-with-provider.js';

const enabled = await requirePostgres();

describe.skipIf(!enabled)('useNotifications with a stored inbox', () => {
  let database: ThrowawayDatabase;
  let t: TestServer;
  beforeAll(async () => {
    database = await createThrowawayDatabase();
    t = await startServer({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await t?.stop();
    await database?.drop();
  });

  it('loads the inbox, then follows live events without duplicates', async () => {
    const { core } = t.server.services;
    const first = await core.sendToUser('ines', 'notification.new', { title: 'while away 1', message: '' });
    const second = await core.sendToUser('ines', 'notification.new', { title: 'while away 2', message: '' });
    const device = t.connect(await t.token('ines')).api;
    await device.notifications.markRead.mutate({ notificationId: first.id });

    const view = renderWithProvider(() => useNotifications(), { url: t.url, token: await t.token('ines') });
    await waitFor(() => expect(view.result.current?.notifications.map((item) => item.id)).toEqual([second.id, first.id]));
    expect(view.result.current?.notifications.map((item) => item.read)).toEqual([false, true]);
    await waitFor(() => expect(core.stats().subscriptions).toBe(1));
    const third = await core.sendToUser('ines', 'notification.new', { title: 'live', message: '' });
    await waitFor(() => expect(view.result.current?.notifications.map((item) => item.id)).toEqual([third.id, second.id, first.id]));
    expect(view.result.current?.unreadCount).toBe(2);

    await device.notifications.markAllRead.mutate();
    await waitFor(() => expect(view.result.current?.unreadCount).toBe(0));
    expect((await device.notifications.list.query({ limit: 10 })).unreadCount).toBe(0);
    view.unmount();
  });

  it('counts the unread notifications beyond the listed page', async () => {
    const { core } = t.server.services;
    const sent: Array<{ id: string }> = [];
    for (let index = 0; index < 3; index++) sent.push(await core.sendToUser('iris', 'notification.new', { title: `stored ${index}`, message: '' }));
    const device = t.connect(await t.token('iris')).api;

    const view = renderWithProvider(() => useNotifications({ maxNotifications: 2 }), { url: t.url, token: await t.token('iris') });
    await waitFor(() => expect(view.result.current?.notifications.map((item) => item.id)).toEqual([sent[2]!.id, sent[1]!.id]));
    expect(view.result.current?.unreadCount).toBe(3);
    await waitFor(() => expect(core.stats().subscriptions).toBe(1));

    // A live one pushes the oldest listed out of the page; it still counts.
    await core.sendToUser('iris', 'notification.new', { title: 'live', message: '' });
    await waitFor(() => expect(view.result.current?.unreadCount).toBe(4));
    expect(view.result.current?.notifications).toHaveLength(2);
    // Read on another device: one never listed here.
    await device.notifications.markRead.mutate({ notificationId: sent[0]!.id });
    await waitFor(() => expect(view.result.current?.unreadCount).toBe(3));
    await device.notifications.markAllRead.mutate();
    await waitFor(() => expect(view.result.current?.unreadCount).toBe(0));
    view.unmount();
  });
});
