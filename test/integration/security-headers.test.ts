/** Issue 13: standard security headers on every HTTP response (the page's own policy is checked in the browser test). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiContentSecurityPolicy } from '../../server/http/security-headers.js';
import { startServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

describe('security headers', () => {
  it('are on health, metrics, tRPC answers (success and error) and 404s', async () => {
    const token = await t.token('alice');
    const responses = [
      await fetch(`${t.url}/healthz`),
      await fetch(`${t.url}/metrics`),
      await fetch(`${t.url}/trpc/rooms.mine`, { headers: { authorization: `Bearer ${token}` } }),
      await fetch(`${t.url}/trpc/admin.stats`),
      await fetch(`${t.url}/nothing-here`),
    ];
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 401, 404]);
    for (const response of responses) {
      expect(Object.fromEntries(response.headers)).toMatchObject({
        'content-security-policy': apiContentSecurityPolicy,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        'cross-origin-opener-policy': 'same-origin',
      });
    }
  });
});
