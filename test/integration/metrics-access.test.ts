/** Issue 13: /metrics can move to a port of its own (METRICS_PORT) or need a token (METRICS_TOKEN). */
import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig } from '../../server/config.js';
import { createRealtimeServer } from '../../server/http/server.js';
import { startServer, testSecret } from '../support/server.js';

const metricsToken = 'metrics-token-0123456789';

describe('metrics access', () => {
  it('by default serves /metrics on the service port', async () => {
    const t = await startServer();
    try {
      const response = await fetch(`${t.url}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('realtime_connections');
    } finally {
      await t.stop();
    }
  });

  it('with METRICS_PORT serves it only there, on loopback; with METRICS_TOKEN only to the bearer', async () => {
    const config = loadConfig({ METRICS_PORT: '0', METRICS_TOKEN: metricsToken });
    expect(config).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1', metricsToken });
    const server = createRealtimeServer({ config: defaultConfig({ port: 0, metricsPort: 0, metricsToken }), authSecret: testSecret });
    try {
      const { url, metricsUrl } = await server.listen();
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(metricsUrl).port).not.toBe(new URL(url).port);
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      expect((await fetch(metricsUrl)).status).toBe(401);
      expect((await fetch(metricsUrl, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const scraped = await fetch(metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('realtime_connections');
      // The metrics port serves nothing else.
      expect((await fetch(metricsUrl.replace('/metrics', '/healthz'))).status).toBe(404);
      expect((await fetch(metricsUrl.replace('/metrics', '/trpc/admin.stats'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('with only METRICS_TOKEN keeps /metrics on the service port behind the token', async () => {
    const t = await startServer({ metricsToken });
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });
});
