/**
 * What a user does (issue 15): `npm pack`, install the tarball into a fresh Vite react-ts app
 * with the stock tsconfig (plus skipLibCheck) that defines an event of its own (`chat.message`),
 * typecheck it (its `@ts-expect-error` lines for wrong app payloads must be errors), build it
 * with Vite, run its server (createRealtimeServer with its events) under plain node, serve the
 * page from another origin (CORS_ORIGINS), run a producer script under plain node, and see the
 * app event live in Chromium, over SSE and over the WebSocket. Also `agent-realtime token` and
 * `agent-realtime start` from the installed package.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from './chromium.js';
import { createConsumerApp, type ConsumerApp } from './consumer-app-setup.js';
import { importGraph } from './import-graph.js';

const chromiumPath = findChromium();
const mustRun = process.env.CI === 'true';
if (!chromiumPath && !mustRun) console.warn('Skipping the package consumer test: no Chromium found (set CHROMIUM_PATH or `apt-get install chromium`).');

const authSecret = 'consumer-app-secret-0123456789';
const serverOnlyPackages = ['ioredis', 'pino', 'prom-client', 'rate-limiter-flexible', 'jose', 'pg', 'kysely', '@electric-sql/pglite'];

/** The built page, from an origin of its own (as `vite preview` or a CDN would serve it). */
async function serveStatic(directory: string): Promise<Server> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    const file = join(directory, path === '/' ? 'index.html' : path.replace(/\.\.+/g, ''));
    readFile(file)
      .then((body) => response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body))
      .catch(() => response.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe.skipIf(!chromiumPath && !mustRun)('the package in a fresh Vite react-ts app', () => {
  let app: ConsumerApp;
  let pageServer: Server;
  let pageOrigin: string;
  /** The same page from an origin the app's server does not list: refused. */
  let strangerServer: Server;
  let strangerOrigin: string;
  let browser: Browser | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    app = await createConsumerApp();
    pageServer = await serveStatic(join(app.directory, 'dist'));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    strangerServer = await serveStatic(join(app.directory, 'dist'));
    strangerOrigin = `http://127.0.0.1:${(strangerServer.address() as AddressInfo).port}`;
  }, 8 * 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(
      children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve).kill('SIGTERM') : resolve(null)))),
    );
    for (const server of [pageServer, strangerServer]) await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await app?.remove();
  });

  it('typechecks with the stock tsconfig, and refuses wrong app payloads', async () => {
    // tsc fails on any error, and on any `@ts-expect-error` (src/App.tsx) that is not one.
    await app.node(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
    await app.node(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.server.json']);
  }, 2 * 60_000);

  it("reaches no server-only dependency from the installed client entries' import graphs", () => {
    const dist = join(app.directory, 'node_modules', 'agent-realtime', 'dist');
    const browserSafe = ['@tanstack/react-query', '@trpc/client', '@trpc/react-query', '@trpc/server', 'react', 'superjson', 'zod'];
    for (const entry of ['client/index.js', 'client/react/index.js', 'client/producer.js', 'shared/index.js']) {
      const graph = importGraph(join(dist, entry));
      expect([...graph.packages].filter((name) => !browserSafe.includes(name)), entry).toEqual([]);
      expect([...graph.files].filter((file) => file.startsWith(join(dist, 'server'))), entry).toEqual([]);
    }
  });

  it('builds with Vite into a bundle that holds no server code', async () => {
    await app.node(['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error']);
    const assets = join(app.directory, 'dist', 'assets');
    const bundle = (await Promise.all((await readdir(assets)).map((name) => readFile(join(assets, name), 'utf8')))).join('\n');
    for (const name of serverOnlyPackages) expect(bundle, name).not.toContain(`node_modules/${name}`);
    expect(bundle).not.toContain('createRealtimeServer');
  }, 2 * 60_000);

  it("runs the app's server under node, and shows a producer's app event live in Chromium over SSE and WebSocket", async () => {
    const { child, line } = await app.start(['build/server/main.js'], { AUTH_SECRET: authSecret, PORT: '0', APP_ORIGIN: pageOrigin }, /listening/);
    children.push(child);
    const serviceUrl = (JSON.parse(line) as { listening: string }).listening;
    const token = async (userId: string, ...flags: string[]) =>
      (await app.node(['node_modules/.bin/agent-realtime', 'token', userId, ...flags], { AUTH_SECRET: authSecret })).stdout.trim();
    // alice's token admits the app's rooms (`--rooms`), as the README shows.
    const [aliceToken, workerToken] = await Promise.all([token('alice', '--rooms', 'room-*'), token('worker', '--service')]);

    browser = await launchChromium(chromiumPath!);
    const pageErrors: string[] = [];
    for (const transport of ['sse', 'websocket']) {
      const page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      const query = new URLSearchParams({ service: serviceUrl, token: aliceToken, room: `room-${transport}`, transport });
      await page.goto(`${pageOrigin}/?${query}`);
      await page.getByTestId('state').filter({ hasText: 'open' }).waitFor({ timeout: 15_000 });
      await page.getByTestId('members').filter({ hasText: '1' }).waitFor({ timeout: 15_000 });

      const text = `hello over ${transport}`;
      const published = await app.node(['producer.mjs', serviceUrl, workerToken, `room-${transport}`, text]);
      expect(JSON.parse(published.stdout)).toMatchObject({ eventId: expect.any(String) });
      await page.getByTestId('message').filter({ hasText: `worker: ${text}` }).waitFor({ timeout: 15_000 });

      await page.getByRole('button', { name: 'Say hello' }).click();
      await page.getByTestId('message').filter({ hasText: 'alice: hello from the page' }).waitFor({ timeout: 15_000 });
      await page.close();

      // From an origin not in CORS_ORIGINS the service refuses the page; the client says so instead of connecting forever.
      const refused = await browser.newPage();
      await refused.goto(`${strangerOrigin}/?${query}`);
      await refused.getByTestId('state').filter({ hasText: 'failed' }).waitFor({ timeout: 20_000 });
      await refused.close();
    }
    expect(pageErrors).toEqual([]);
  }, 3 * 60_000);

  it('serves with `agent-realtime start` from the installed package', async () => {
    const { child, line } = await app.start(
      ['node_modules/.bin/agent-realtime', 'start'],
      { AUTH_SECRET: authSecret, PORT: '0', LOG_LEVEL: 'info' },
      /realtime service listening/,
    );
    children.push(child);
    const { url } = JSON.parse(line) as { url: string };
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);
});
