/**
 * Serves the built dashboard (a Vite build) from one directory, with an index.html fallback for
 * client-side routes. Only GET and HEAD, only files inside the directory.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { setDashboardPolicy } from './security-headers.js';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export function createStaticHandler(directory: string) {
  const root = resolve(directory);
  const fileIn = async (relative: string) => {
    const path = normalize(join(root, relative));
    if (path !== root && !path.startsWith(root + sep)) return undefined;
    const info = await stat(path).catch(() => undefined);
    return info?.isFile() ? path : undefined;
  };

  return async (request: IncomingMessage, response: ServerResponse, urlPath: string): Promise<boolean> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    let relative: string;
    try {
      relative = decodeURIComponent(urlPath);
    } catch {
      return false;
    }
    const path = (await fileIn(relative === '/' ? 'index.html' : relative)) ?? (extname(relative) === '' ? await fileIn('index.html') : undefined);
    if (!path) return false;
    // Production builds carry no source maps (vite.config.ts); one left in the directory is not served.
    if (extname(path) === '.map') return false;
    const immutable = path.includes(`${sep}assets${sep}`);
    // The page's own policy (its scripts, styles and API); every other response keeps the API's.
    if (extname(path) === '.html') setDashboardPolicy(response);
    response.writeHead(200, {
      'content-type': contentTypes[extname(path)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (request.method === 'HEAD') response.end();
    else createReadStream(path).pipe(response);
    return true;
  };
}
