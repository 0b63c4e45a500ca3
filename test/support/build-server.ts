/**
 * Vitest global setup: compiles the server once, as `npm run build` does, into
 * test-output/build (test/tsconfig.processes.json), so that the tests which start real processes
 * run what `npm start` runs (node on tsc's output), not tsx's transform of the sources.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function buildServer(): void {
  const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'test/tsconfig.processes.json'], { cwd: projectRoot, stdio: 'inherit' });
}
