/**
 * Makes sure dist/client holds a build of the current dashboard: builds it when it is missing
 * or older than any source it is made from (client/, shared/), so the browser test never drives
 * a stale page.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const dashboardOutput = join(projectRoot, 'dist', 'client');
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

/** Runs `vite build` (the same as `npm run build`) unless the build is current. */
export async function ensureDashboardBuild(): Promise<void> {
  if (dashboardBuildIsCurrent()) return;
  const vite = join(projectRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  await promisify(execFile)(process.execPath, [vite, 'build', '--config', 'client/dashboard/vite.config.ts', '--logLevel', 'warn'], {
    cwd: projectRoot,
    timeout: 120_000,
  });
}
