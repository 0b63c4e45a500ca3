/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
 * service on port 0 serving the built page: sign in with an admin token, watch an event sent
 * through the API arrive in the feed, approve a governance action with the button, see the
 * publish form report the service's validation issues, and save a screenshot.
 */
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import type { Browser, Page } from 'playwright-core';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import type { AppRouter } from '../../server/api/router.js';
import { TokenService, type RealtimeServer } from '../../server/index.js';
import { waitFor } from '../support/wait.js';
import { findChromium } from './chromium.js';
import { newDashboardPage, projectRoot, startDashboardTest } from './dashboard-build.js';

const chromiumPath = findChromium();
const mustRun = process.env.CI === 'true';
if (!chromiumPath && !mustRun) {
  console.warn('Skipping the dashboard browser test: no Chromium found (set CHROMIUM_PATH or `apt-get install chromium`).');
}

const screenshotPath = join(projectRoot, 'test-output', 'dashboard.png');
const operatorId = 'admin-user-id';

describe.skipIf(!chromiumPath && !mustRun)('operator dashboard in Chromium', () => {
  let server: RealtimeServer;
  let url: string;
  let wsUrl: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const serverErrors: { context: string; error: unknown }[] = [];
  const sockets: ReturnType<typeof createWSClient>[] = [];

  /** An official client over WebSocket, as a user or backend would connect. */
  async function connectAs(userId: string, role: 'user' | 'admin' | 'service') {
    const token = await server.tokens.sign(userId, role, '24h', { rooms: ['*'] });
    const wsClient = createWSClient({ url: wsUrl, WebSocket: WebSocket as never, connectionParams: () => ({ token }) });
    sockets.push(wsClient);
    return createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] });
  }

  async function signIn(token: string) {
    await page.getByTestId('token-input').fill(token);
    await page.getByTestId('sign-in').click();
  }

  beforeAll(async () => {
    ({ browser, server } = await startDashboardTest(chromiumPath, serverErrors));
    ({ url, wsUrl } = await server.listen());
    page = await newDashboardPage(browser, pageErrors);
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    for (const socket of sockets) await socket.close();
    await browser?.close();
    await server?.close();
  });

  it('signs in, shows live events, approves an action and reports validation issues', async () => {
    onTestFailed(async () => {
      // What the page showed when it went wrong is the first thing to look at.
      await mkdir(join(projectRoot, 'test-output'), { recursive: true });
      await page.screenshot({ path: join(projectRoot, 'test-output', 'dashboard-failure.png'), fullPage: true }).catch(() => undefined);
      console.error('page errors:', pageErrors, 'server errors:', serverErrors);
    });
    const operatorToken = await server.tokens.sign(operatorId, 'admin');

    const landing = await page.goto(url);
    // Security headers on the page; the production build carries no source map.
    expect(landing?.headers()).toMatchObject({
      'content-security-policy': expect.stringContaining("frame-ancestors 'none'"),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
    });
    expect(readdirSync(join(projectRoot, 'dist', 'dashboard', 'assets')).filter((file) => file.endsWith('.map'))).toEqual([]);
    await mkdir(join(projectRoot, 'test-output'), { recursive: true });
    await page.screenshot({ path: join(projectRoot, 'test-output', 'dashboard-login.png') });

    // A user token is refused before connecting; a forged admin token is refused by the service.
    await signIn(await server.tokens.sign('alice', 'user'));
    expect(await page.getByTestId('login-error').textContent()).toContain('needs role admin');
    await signIn(await new TokenService('some-other-secret-0123456789').sign(operatorId, 'admin'));
    await page.getByTestId('login-error').getByText('refused').waitFor();

    // Sign in; the token survives a reload (sessionStorage).
    await signIn(operatorToken);
    await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
    await page.reload();
    await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
    expect(await page.getByTestId('signed-in-as').textContent()).toContain(operatorId);

    // A little life in the service: two users in a room, an agent at work.
    const alice = await connectAs('alice', 'user');
    const bob = await connectAs('bob', 'user');
    await alice.rooms.join.mutate({ roomId: 'design-review' });
    await bob.rooms.join.mutate({ roomId: 'design-review' });
    await bob.presence.update.mutate({ status: 'busy' });
    await server.services.emitAgentEvent('agent-summarise', 'agent.started', 'alice', { task: 'Summarise the Q3 report' });
    await server.services.emitAgentEvent('agent-summarise', 'agent.progress', 'alice', { progress: 60, step: 'drafting' });
    await page.getByTestId('room-design-review').getByText('bob').waitFor();
    await page.locator('[data-testid="presence-bob"][data-status="busy"]').waitFor();
    await page.locator('[data-testid="agent-agent-summarise"] [role="progressbar"][aria-valuenow="60"]').waitFor();

    // An event sent through the API shows up in the feed.
    const backend = await connectAs('release-bot', 'admin');
    const sent = await backend.admin.send.mutate({
      userId: 'alice',
      type: 'notification.new',
      data: { title: 'Build 1432 deployed', message: 'Staging is on 1.4.0', level: 'success' },
    });
    await page.locator(`[data-testid="feed-row"][data-event-id="${sent.eventId}"]`, { hasText: 'Build 1432 deployed' }).waitFor();
    // The operator's own inbox lists what is sent to them, unread until marked.
    await backend.admin.send.mutate({ userId: operatorId, type: 'notification.new', data: { title: 'Rota changed', message: 'You are on call' } });
    await page.getByTestId('inbox-row').filter({ hasText: 'Rota changed' }).waitFor();
    expect(await page.getByTestId('inbox-unread').textContent()).toBe('1 unread');
    await page.getByTestId('inbox-mark-all').click();
    await page.getByTestId('inbox-unread').getByText('0 unread').waitFor();

    // A governance action requested server-side is approved with the button.
    const action = await server.services.governance.request({
      action: 'deploy.production',
      description: 'Release 1.4.0 to production',
      approvers: [operatorId],
      requesterId: 'release-bot',
      agentId: 'agent-summarise',
    });
    const card = page.getByTestId(`governance-action-${action.actionId}`);
    await card.waitFor();
    await page.getByTestId(`approve-${action.actionId}`).click();
    await waitFor(() => server.services.governance.get(action.actionId)?.status === 'approved', 'the action to be approved');
    expect(server.services.governance.get(action.actionId)?.decidedBy).toBe(operatorId);
    await card.waitFor({ state: 'detached' });
    await page.locator('[data-testid="feed-row"][data-type="governance.approved"]').first().waitFor();

    // One more left pending, so the screenshot shows a card.
    await server.services.governance.request({
      action: 'workspace.delete',
      description: 'Delete the archived "sandbox" workspace',
      approvers: [operatorId],
      requesterId: 'cleanup-agent',
    });

    // The publish form broadcasts the catalog's example, and shows the service's zod issues for invalid data.
    await page.getByTestId('publish-type').selectOption('system.maintenance');
    await page.getByTestId('publish-submit').click();
    await page.getByTestId('publish-result').getByText('Sent system.maintenance to everyone').waitFor();
    await page.locator('[data-testid="feed-row"][data-type="system.maintenance"]').waitFor();
    // Workflow events are not offered: they go through their procedures (agents.emit, governance.*).
    const offered = await page.getByTestId('publish-type').locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
    expect(offered.filter((type) => type.startsWith('agent.') || type.startsWith('governance.'))).toEqual([]);
    await page.getByTestId('publish-data').fill(JSON.stringify({ message: 'soon', durationMinutes: -5 }, null, 2));
    await page.getByTestId('publish-submit').click();
    const issues = page.getByTestId('publish-issues');
    await issues.waitFor();
    expect(await page.getByTestId('publish-error').textContent()).toContain('BAD_REQUEST');
    expect(await issues.textContent()).toContain('durationMinutes');
    // The page ran under its Content-Security-Policy without a violation (inline script, foreign connection).
    expect(cspViolations).toEqual([]);

    await page.screenshot({ path: screenshotPath, fullPage: true });
    expect(pageErrors).toEqual([]);
    // A browser may reset a socket instead of closing it (reload, navigation): routine, not a fault.
    const isConnectionReset = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ECONNRESET';
    expect(serverErrors.filter(({ error }) => !isConnectionReset(error))).toEqual([]);
    // About 6 s on an idle 2-core machine; the margin is for one busy with other suites.
  }, 40_000);
});
