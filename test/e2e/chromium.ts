/**
 * Debian's Chromium for the browser test, driven by playwright-core. Never a downloaded browser:
 * CHROMIUM_PATH, else `chromium` on PATH, else /usr/bin/chromium (.ci/run installs it with apt).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const launchArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium binary to use, or undefined when this machine has none. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .flatMap((directory) => ['chromium', 'chromium-browser'].map((name) => join(directory, name)));
  return [...onPath, '/usr/bin/chromium'].find(isExecutable);
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: launchArgs, timeout: 20_000 });
}
