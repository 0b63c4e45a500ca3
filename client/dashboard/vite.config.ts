/**
 * Vite config of the operator dashboard. `npm run build` writes dist/dashboard at the project root,
 * which the service serves at `/` (server/main.ts); `npm run dev` serves the page with hot reload
 * and proxies `/trpc` (HTTP and WebSocket) to a service already running on port 3000, so the page
 * keeps talking to its own origin in both modes.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const dashboardRoot = fileURLToPath(new URL('.', import.meta.url));
const outputDirectory = fileURLToPath(new URL('../../dist/dashboard', import.meta.url));
const serviceUrl = process.env.REALTIME_SERVICE_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: dashboardRoot,
  plugins: [react()],
  build: {
    outDir: outputDirectory,
    emptyOutDir: true,
    // No source maps in the build the service serves: they shipped the whole source (2.4 MB) to
    // anyone (issue 13). `npm run dev` has its own, in memory.
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    // The Host header is passed through unchanged (no changeOrigin): the service then sees the
    // page's Origin and Host agree, a same-origin page, which it admits without CORS_ORIGINS.
    proxy: {
      '/trpc': { target: serviceUrl, ws: true },
      '/healthz': { target: serviceUrl },
    },
  },
  preview: { host: '127.0.0.1' },
});
