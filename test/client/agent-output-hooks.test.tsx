// @vitest-environment jsdom
/**
 * useAgentEvents(agentId).output against a real server (issue 19): a page opened mid-run shows
 * the text so far, then the live deltas, and ends with exactly the producer's text, over either
 * transport; a dropped connection resumes without doubling or losing text.
 */
import './node-realm.js';
import { waitFor } from '@testing-library/react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAgentEvents } from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { hookTransports, renderWithProvider } from './render-with-provider.js';

let t: TestServer;
beforeAll(async () => (t = await startServer({ historyPerChannel: 50 })));
afterAll(async () => t.stop());

describe.each(hookTransports)('useAgentEvents output over %s', (transport) => {
  it('shows the text so far to a late page, then live deltas, across a dropped connection', async () => {
    const { services } = t.server;
    const agentId = `hook-writer-${transport}`;
    await services.emitAgentEvent(agentId, 'agent.started', 'alice', {});
    let text = '';
    const emit = async (count: number) => {
      for (let index = 0; index < count; index++) {
        const delta = index % 9 === 0 ? 'ñ😀 ' : `w${index} `;
        await services.emitAgentEvent(agentId, 'agent.output', 'alice', { delta });
        text += delta;
      }
    };
    await emit(200);
    const token = await t.token('alice');
    const { result } = renderWithProvider(() => useAgentEvents(agentId), { url: t.url, token, transport, retryDelayMs: 200 });
    await waitFor(() => expect(result.current?.output).toBe(text));
    expect(result.current?.status).toBe('running');
    await emit(100);
    t.dropAll();
    await emit(200);
    await services.emitAgentEvent(agentId, 'agent.complete', 'alice', {});
    // The status may come first from the run's state (read when the stream restarts), before the
    // resumed stream's events: wait for the text itself.
    await waitFor(() => expect(result.current?.output).toBe(text));
    await waitFor(() => expect(result.current?.status).toBe('complete'));
  });
});
