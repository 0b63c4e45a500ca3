/**
 * `npm run bench -- --agent-output` (issue 19): one agent run streaming `--deltas` deltas of ~4
 * characters at full speed to `--watchers` sockets watching it (`onAgent({ agentId })`, tRPC's
 * WebSocket protocol over bare `ws`, as the main benchmark's load generator speaks it). Reports
 * deltas per second, server CPU per delivery, bytes on the wire, and how long a late joiner takes
 * to hold a 1 MB output. Every watcher's text is checked against the producer's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { positiveInteger } from '../options.js';
import { trackChild } from '../processes.js';

interface Listening {
  wsUrl: string;
  viewerToken: string;
  producerToken: string;
}

interface Watcher {
  text: string;
  bytes: number;
  messages: number;
  socket: WebSocket;
}

function startOutputServer(): Promise<{ child: ChildProcess; info: Listening }> {
  const child = trackChild(fork(new URL('./output-server.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`output server exited (${code})`)));
    child.on('message', (message: Listening & { type: string }) => {
      if (message.type === 'listening') resolve({ child, info: message });
    });
  });
}

function serverCpuMicros(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: { type: string; usage?: NodeJS.CpuUsage }) => {
      if (message.type !== 'cpu' || !message.usage) return;
      child.off('message', onMessage);
      resolve(message.usage.user + message.usage.system);
    };
    child.on('message', onMessage);
    child.send({ type: 'cpu' });
  });
}

/** A watcher of one run: its text is folded from the `agent.output` frames by offset, as the hook does. */
function watch(info: Listening, agentId: string): Promise<Watcher> {
  const socket = new WebSocket(`${info.wsUrl}?connectionParams=1`);
  const watcher: Watcher = { text: '', bytes: 0, messages: 0, socket };
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.on('open', () => {
      socket.send(JSON.stringify({ method: 'connectionParams', data: { token: info.viewerToken } }));
      socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onAgent', input: { json: { agentId } } } }));
    });
    socket.on('message', (data: Buffer) => {
      watcher.bytes += data.length;
      watcher.messages++;
      // A data frame carries the tracked envelope `{ id, data: event }` (superjson's `json`).
      const message = JSON.parse(data.toString()) as { result?: { type: string; data?: { json?: { data?: { type: string; data: { delta: string; offset: number } } } } } };
      if (message.result?.type === 'started') resolve(watcher);
      const event = message.result?.data?.json?.data;
      if (event?.type === 'agent.output') {
        const { delta, offset } = event.data;
        if (offset <= watcher.text.length && offset + delta.length > watcher.text.length) watcher.text += delta.slice(watcher.text.length - offset);
      }
    });
  });
}

/** A producer speaking tRPC over one socket: `agents.emit` calls, at most `window` unanswered. */
function producer(info: Listening) {
  const socket = new WebSocket(`${info.wsUrl}?connectionParams=1`);
  let nextId = 1;
  const waiting = new Map<number, (error?: string) => void>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
    if (typeof message.id === 'number') waiting.get(message.id)?.(message.error?.message);
    if (typeof message.id === 'number') waiting.delete(message.id);
  });
  const opened = new Promise<void>((resolve) => socket.on('open', () => {
    socket.send(JSON.stringify({ method: 'connectionParams', data: { token: info.producerToken } }));
    resolve();
  }));
  const emit = (agentId: string, type: string, data: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (error) => (error ? reject(new Error(error)) : resolve()));
      socket.send(JSON.stringify({ id, method: 'mutation', params: { path: 'agents.emit', input: { json: { agentId, userId: 'viewer', type, data } } } }));
    });
  return { opened, emit, close: () => socket.close() };
}

async function waitUntil(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function runAgentOutputBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { deltas: { type: 'string' }, watchers: { type: 'string' }, window: { type: 'string' } } });
  const deltaCount = positiveInteger(values.deltas, 'deltas', 10_000);
  const watcherCount = positiveInteger(values.watchers, 'watchers', 1_000);
  const window = positiveInteger(values.window, 'window', 16);
  const { child, info } = await startOutputServer();
  const agentId = 'bench-run';
  const watchers: Watcher[] = [];
  for (let index = 0; index < watcherCount; index += 100) {
    watchers.push(...(await Promise.all(Array.from({ length: Math.min(100, watcherCount - index) }, () => watch(info, agentId)))));
  }
  const produce = producer(info);
  await produce.opened;
  await produce.emit(agentId, 'agent.started', { task: 'bench' });
  const deltas = Array.from({ length: deltaCount }, (_, index) => `${(index % 1000).toString().padStart(3, '0')} `);
  const expected = deltas.join('');
  const bytesBefore = watchers.reduce((sum, watcher) => sum + watcher.bytes, 0);
  const cpuBefore = await serverCpuMicros(child);
  const started = performance.now();
  // Stated offsets keep the text in the producer's order while `window` calls are in flight.
  let offset = 0;
  const inFlight = new Set<Promise<void>>();
  for (const delta of deltas) {
    const sent = produce.emit(agentId, 'agent.output', { delta, offset }).finally(() => inFlight.delete(sent));
    offset += delta.length;
    inFlight.add(sent);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await waitUntil(() => watchers.every((watcher) => watcher.text.length >= expected.length), 'every watcher to hold the text', 300_000);
  const elapsedMs = performance.now() - started;
  const cpuMicros = (await serverCpuMicros(child)) - cpuBefore;
  const wireBytes = watchers.reduce((sum, watcher) => sum + watcher.bytes, 0) - bytesBefore;
  const wrong = watchers.filter((watcher) => watcher.text !== expected).length;

  // A late joiner on a 1 MB output: a second run, 250 deltas of 4,000 characters.
  const bigId = 'bench-big';
  await produce.emit(bigId, 'agent.started', {});
  const chunk = 'abcd'.repeat(1_000);
  for (let index = 0; index < 250; index++) await produce.emit(bigId, 'agent.output', { delta: chunk });
  const joinStarted = performance.now();
  const late = await watch(info, bigId);
  await waitUntil(() => late.text.length >= 1_000_000, 'the late joiner to hold 1 MB', 60_000);
  const catchUpMs = performance.now() - joinStarted;
  late.socket.close();

  const deliveries = deltaCount * watcherCount;
  console.log(`agent.output: ${deltaCount} deltas of ~4 characters to ${watcherCount} watchers (producer window ${window})`);
  console.log(`  deltas/s (producer to every watcher holding the text): ${Math.round((deltaCount / elapsedMs) * 1000)}`);
  console.log(`  server CPU per delivery: ${((cpuMicros * 1000) / deliveries).toFixed(0)} ns (${(cpuMicros / 1e6).toFixed(2)} s over ${deliveries} deliveries)`);
  console.log(`  bytes on the wire to watchers: ${wireBytes} (${(wireBytes / deliveries).toFixed(1)} per delivery; live deltas are not merged)`);
  console.log(`  watchers whose text differs from the producer's: ${wrong}`);
  console.log(`  late joiner on a 1 MB output: ${catchUpMs.toFixed(0)} ms from connecting to holding it (${late.messages} messages)`);
  for (const watcher of watchers) watcher.socket.close();
  produce.close();
  child.send({ type: 'stop' });
  if (wrong > 0) throw new Error(`${wrong} watchers ended with a different text`);
}
