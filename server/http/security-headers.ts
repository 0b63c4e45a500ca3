/**
 * Standard security headers on every HTTP response of the service (issue 13: the dashboard had
 * none). API answers get a policy that allows nothing; the dashboard's page a policy that allows
 * only its own origin: its scripts and styles (no inline script), its API over HTTP, SSE and
 * WebSocket, and `data:` images (the favicon). No page may frame it.
 */
import type { ServerResponse } from 'node:http';

const common = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** For JSON, metrics and anything that is not the page. */
export const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** For the dashboard: its own origin only ('self' covers ws:/wss: to the same host in CSP 3). */
export const dashboardContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sets the common headers and the API policy; the static handler replaces the policy for the page. */
export function setSecurityHeaders(response: ServerResponse): void {
  for (const [name, value] of Object.entries(common)) response.setHeader(name, value);
  response.setHeader('content-security-policy', apiContentSecurityPolicy);
}

export function setDashboardPolicy(response: ServerResponse): void {
  response.setHeader('content-security-policy', dashboardContentSecurityPolicy);
}
