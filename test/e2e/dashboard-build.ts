/**
 * Makes sure dist/dashboard holds a build of the current dashboard: builds it when it is missing
 * or older than any source it is made from (client/, shared/), so the browser test never drives
 * a stale page. Browser test files may run at once in two workers: one builds at a time (a lock
 * file), and the other then finds the build current instead of emptying it under the first.
 * Also what every browser test starts from: Chromium, the build, a service serving it, a page.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { createRealtimeServer, defaultConfig, type RealtimeServer } from '../../server/index.js';
import { launchChromium } from './chromium.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const dashboardOutput = join(projectRoot, 'dist', 'dashboard');
const sources = ['client', 'shared'].map((directory) => join(projectRoot, directory));

function newestModification(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestModification(join(path, entry)));
  return newest;
}

export function dashboardBuildIsCurrent(): boolean {
  const index = join(dashboardOutput, 'index.html');
  if (!existsSync(index)) return false;
  const builtAt = statSync(index).mtimeMs;
  return sources.every((source) => newestModification(source) <= builtAt);
}

const buildLock = join(projectRoot, 'dist', '.dashboard-build.lock');
/** A lock older than any build takes was left by a killed run. */
const staleLockMs = 180_000;

/** Runs `vite build` (the same as `npm run build`) unless the build is current. */
export async function ensureDashboardBuild(): Promise<void> {
  if (dashboardBuildIsCurrent()) return;
  mkdirSync(join(projectRoot, 'dist'), { recursive: true });
  // While another worker builds, wait for it; a lock older than any build was left by a killed run.
  const pollMs = 200;
  for (let attempt = 0; !(await takeLock()); attempt++) {
    if (attempt * pollMs > 2 * staleLockMs) throw new Error(`Could not take the dashboard build lock ${buildLock}`);
    const lockAgeMs = Date.now() - (statSync(buildLock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (lockAgeMs > staleLockMs) await rm(buildLock, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  try {
    // Another worker may have built it while this one waited.
    if (!dashboardBuildIsCurrent()) await runViteBuild();
  } finally {
    await rm(buildLock, { force: true });
  }
}

async function takeLock(): Promise<boolean> {
  try {
    await (await open(buildLock, 'wx')).close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function runViteBuild(): Promise<void> {
  const vite = join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  await promisify(execFile)(process.execPath, [vite, 'build', '--config', 'client/dashboard/vite.config.ts', '--logLevel', 'warn'], {
    cwd: projectRoot,
    timeout: 120_000,
  });
}

/**
 * Chromium launched and the dashboard built (at once: both take seconds), then a service on
 * port 0 serving the build, not yet listening, whose errors go to `serverErrors`. Should the
 * build or the service fail, the browser is closed before the error is thrown.
 */
export async function startDashboardTest(
  chromiumPath: string | undefined,
  serverErrors: { context: string; error: unknown }[],
): Promise<{ browser: Browser; server: RealtimeServer }> {
  if (!chromiumPath) throw new Error("CI=true but no Chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH.");
  const [launched, built] = await Promise.allSettled([launchChromium(chromiumPath), ensureDashboardBuild()]);
  if (launched.status === 'rejected') throw launched.reason;
  const browser = launched.value;
  try {
    if (built.status === 'rejected') throw built.reason;
    const server = createRealtimeServer({
      config: defaultConfig({ port: 0 }),
      authSecret: 'test-secret-0123456789abcdef',
      staticDirectory: dashboardOutput,
      onError: (error, context) => serverErrors.push({ context, error }),
    });
    return { browser, server };
  } catch (error) {
    await browser.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A page in a browser context of its own (its own sessionStorage) at the size the screenshots
 * use, waiting at most 10 s for anything, its uncaught errors collected in `pageErrors`.
 */
export async function newDashboardPage(browser: Browser, pageErrors: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1100 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}
