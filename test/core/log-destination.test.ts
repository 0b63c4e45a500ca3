/** The log destination never blocks: past its bound it drops lines (counted), and a broken stream turns it off. */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogDestination } from '../../server/logging/log-destination.js';

describe('log destination', () => {
  it('drops lines while the reader is behind, then says how many when it catches up', async () => {
    const stream = new PassThrough({ highWaterMark: 16 });
    const destination = createLogDestination({ stream, maxBufferedBytes: 1_000 });
    const line = `${'x'.repeat(99)}\n`;
    for (let index = 0; index < 100; index++) destination.write(line);
    // Nobody reads: about 1,000 bytes are queued, the rest dropped.
    expect(stream.writableLength).toBeLessThanOrEqual(1_000);
    expect(destination.dropped).toBeGreaterThanOrEqual(90);
    const dropped = destination.dropped;
    const received: string[] = [];
    stream.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    await new Promise((resolve) => setImmediate(resolve));
    destination.write('after\n');
    await new Promise((resolve) => setImmediate(resolve));
    const text = received.join('');
    expect(text).toContain(`${dropped} log lines dropped`);
    expect(text.endsWith('after\n')).toBe(true);
  });

  it('turns itself off when the stream breaks (EPIPE), without throwing', async () => {
    const broken = new Writable({ write: (_chunk, _encoding, callback) => callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const destination = createLogDestination({ stream: broken });
    destination.write('one\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(destination.open).toBe(false);
    expect(() => destination.write('two\n')).not.toThrow();
    expect(destination.dropped).toBe(1);
  });
});
