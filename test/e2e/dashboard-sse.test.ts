/**
 * The dashboard where WebSockets cannot go, in a real browser (Debian's Chromium through
 * playwright-core) against a service on port 0 that refuses every WebSocket upgrade, as a
 * blocking proxy would: with `?transport=sse` the page never tries a WebSocket, goes live over
 * Server-Sent Events, shows events sent through the API, approves an action with the button,
 * and after every connection is cut comes back with what was sent meanwhile; with
 * `?transport=auto` it tries the WebSocket, falls back to SSE by itself and goes live.
 */
import type { Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import type { Browser, Page } from 'playwright-core';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { AppRouter } from '../../server/api/router.js';
import type { RealtimeServer } from '../../server/index.js';
import { waitFor } from '../support/wait.js';
import { findChromium } from './chromium.js';
import { newDashboardPage, projectRoot, startDashboardTest } from './dashboard-build.js';

const chromiumPath = findChromium();
const mustRun = process.env.CI === 'true';
if (!chromiumPath && !mustRun) {
  console.warn('Skipping the dashboard-over-SSE browser test: no Chromium found (set CHROMIUM_PATH or `apt-get install chromium`).');
}

const outputDirectory = join(projectRoot, 'test-output');
const operatorId = 'sse-operator';
const liveOverSse = '[data-testid="connection-state"][data-state="open"][data-transport="sse"]';

describe.skipIf(!chromiumPath && !mustRun)('operator dashboard over SSE in Chromium', () => {
  let server: RealtimeServer;
  let url: string;
  let browser: Browser;
  let backend: TRPCClient<AppRouter>;
  /** WebSocket upgrades the service refused. */
  let refusedUpgrades = 0;
  const pageErrors: string[] = [];
  const serverErrors: { context: string; error: unknown }[] = [];

  async function openSignedIn(query: string): Promise<Page> {
    // A context of its own: its own sessionStorage, so each page signs in afresh.
    const page = await newDashboardPage(browser, pageErrors);
    onTestFailed(async () => {
      await mkdir(outputDirectory, { recursive: true });
      await page.screenshot({ path: join(outputDirectory, 'dashboard-sse-failure.png'), fullPage: true }).catch(() => undefined);
      console.error('page errors:', pageErrors, 'server errors:', serverErrors);
    });
    await page.goto(`${url}/${query}`);
    await page.getByTestId('token-input').fill(await server.tokens.sign(operatorId, 'admin'));
    await page.getByTestId('sign-in').click();
    return page;
  }

  const notify = (title: string) =>
    backend.admin.send.mutate({ userId: 'alice', type: 'notification.new', data: { title, message: 'over SSE', level: 'info' } });
  const feedRow = (page: Page, eventId: string) => page.locator(`[data-testid="feed-row"][data-event-id="${eventId}"]`);

  beforeAll(async () => {
    ({ browser, server } = await startDashboardTest(chromiumPath, serverErrors));
    ({ url } = await server.listen());
    // The network of this test lets no WebSocket through.
    server.httpServer.removeAllListeners('upgrade');
    server.httpServer.on('upgrade', (_request, socket: Socket) => {
      refusedUpgrades++;
      socket.destroy();
    });
    const backendToken = await server.tokens.sign('release-bot', 'admin');
    backend = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers: { authorization: `Bearer ${backendToken}` } })],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('with ?transport=sse goes live without a WebSocket, approves an action, and resumes after a cut', async () => {
    const page = await openSignedIn('?transport=sse');
    await page.locator(liveOverSse).waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toContain(operatorId);

    // An event sent through the API shows up in the feed.
    const sent = await notify('Build 1433 deployed');
    await feedRow(page, sent.eventId).waitFor();

    // A governance action requested server-side is approved with the button.
    const action = await server.services.governance.request({
      action: 'deploy.production',
      description: 'Release 1.4.1 to production',
      approvers: [operatorId],
      requesterId: 'release-bot',
    });
    await page.getByTestId(`approve-${action.actionId}`).click();
    await waitFor(() => server.services.governance.get(action.actionId)?.status === 'approved', 'the action to be approved');
    expect(server.services.governance.get(action.actionId)?.decidedBy).toBe(operatorId);
    await page.getByTestId(`governance-action-${action.actionId}`).waitFor({ state: 'detached' });

    // Every connection cut, as a flaky network would: what is sent meanwhile arrives after the resume.
    server.httpServer.closeAllConnections();
    // Published inside the service: the backend's own HTTP connection was cut too.
    const whileAway = await server.services.core.sendToUser('alice', 'notification.new', { title: 'Sent while the streams were down', message: '' });
    await feedRow(page, whileAway.id).waitFor();
    await page.locator(liveOverSse).waitFor();
    expect(await feedRow(page, sent.eventId).count()).toBe(1);

    await mkdir(outputDirectory, { recursive: true });
    await page.screenshot({ path: join(outputDirectory, 'dashboard-sse.png'), fullPage: true });
    expect(refusedUpgrades).toBe(0);
    await page.context().close();
  }, 40_000);

  it('with ?transport=auto falls back to SSE by itself and goes live', async () => {
    const before = refusedUpgrades;
    const page = await openSignedIn('?transport=auto');
    await page.locator(liveOverSse).waitFor();
    expect(refusedUpgrades - before).toBeGreaterThanOrEqual(2);
    const sent = await notify('Delivered after the fallback');
    await feedRow(page, sent.eventId).waitFor();
    await page.context().close();

    expect(pageErrors).toEqual([]);
    // A browser may reset a connection instead of closing it: routine, not a fault.
    const isConnectionReset = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ECONNRESET';
    expect(serverErrors.filter(({ error }) => !isConnectionReset(error))).toEqual([]);
  }, 40_000);
});
