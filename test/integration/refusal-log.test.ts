/**
 * Issue 13: refused input is logged below error level, without a stack, and rate-limited. A
 * flood of bad frames from sockets without a token used to write one error line with a stack
 * per frame.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defaultConfig } from '../../server/config.js';
import { createRealtimeServer } from '../../server/http/server.js';
import { RefusalLog, type RefusalRecord } from '../../server/logging/refusal-log.js';
import { testSecret } from '../support/server.js';
import { waitFor } from '../support/wait.js';

describe('refused-input logging', () => {
  it('writes at most maxPerWindow lines per window and sums up the rest', () => {
    let now = 0;
    const lines: RefusalRecord[] = [];
    const log = new RefusalLog({ write: (record) => lines.push(record), maxPerWindow: 3, windowMs: 1_000, now: () => now });
    for (let index = 0; index < 100; index++) log.refused('socket error', Object.assign(new Error('Invalid UTF-8 sequence'), { code: 'WS_ERR_INVALID_UTF8' }));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({ context: 'socket error', code: 'WS_ERR_INVALID_UTF8', reason: 'Invalid UTF-8 sequence' });
    now = 1_000;
    log.refused('socket error', 'again');
    expect(lines.slice(3)).toEqual([
      { context: 'refusals', reason: 'rate-limited', suppressed: 97 },
      { context: 'socket error', reason: 'again' },
    ]);
    expect(log.total).toBe(101);
    expect(log.suppressed).toBe(97);
  });

  it('a flood of bad frames and requests without a token: no error-level report, a bounded number of warn lines', async () => {
    const errors: unknown[] = [];
    const refusals: RefusalRecord[] = [];
    const server = createRealtimeServer({
      config: defaultConfig({ port: 0, maxPayloadBytes: 1024 }),
      authSecret: testSecret,
      onError: (error) => errors.push(error),
      logRefusal: (record) => refusals.push(record),
    });
    const { wsUrl, port } = await server.listen();
    try {
      const sockets = 60;
      for (let index = 0; index < sockets; index++) {
        const socket = new WebSocket(wsUrl);
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('open', resolve));
        // Over the frame limit: ws refuses it (1009) and reports a protocol error.
        socket.send('x'.repeat(4_096));
        await new Promise((resolve) => socket.once('close', resolve));
      }
      // Garbage that is not HTTP: the parser refuses it (clientError).
      for (let index = 0; index < 20; index++) {
        const raw = connect(port, '127.0.0.1');
        raw.on('error', () => {});
        raw.end('NOT HTTP AT ALL\r\n\r\n');
        await new Promise((resolve) => raw.once('close', resolve));
      }
      await waitFor(() => server.refusals.total + errors.length >= sockets + 20, 'every refusal reported');
      console.log(`[reliability] ${server.refusals.total} refused inputs: ${refusals.length} warn lines, ${errors.length} error reports`);
      expect(errors).toEqual([]);
      expect(refusals.length).toBeLessThanOrEqual(10);
      expect(refusals.every((record) => !('stack' in record))).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/realtime_refused_inputs_total (\d+)/);
    } finally {
      await server.close();
    }
  });
});
