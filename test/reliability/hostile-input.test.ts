/**
 * Issue 6, item 5 (property-based): fast-check throws random frames, random procedure paths and
 * random inputs at a real server, over raw WebSockets (no token, a user's, an admin's) and over
 * HTTP. A crash found is any of: an INTERNAL_SERVER_ERROR answer, an error the server reports,
 * an unhandled rejection or uncaught exception, a hostile socket closed by the server, an answer
 * that is not tRPC's shape. Memory must return near its baseline and a bystander keeps receiving.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../server/api/router.js';
import { eventTypes } from '../../shared/events.js';
import { openRawSocket, type RawSocket } from '../support/raw-socket.js';
import { waitFor } from '../support/wait.js';
import { officialClient, type OfficialClient } from './support/clients.js';
import { clientErrorCodes, startGuardedServer, type GuardedServer } from './support/guarded-server.js';
import { guardProcess, liveMemoryBytes, type ProcessGuard } from './support/process-guards.js';

const wsRuns = 300;
const framesPerRun = 12;
const httpRuns = 300;
const mebibyte = 1024 * 1024;
const memoryReturnBoundBytes = 16 * mebibyte;

const knownPaths = Object.keys(appRouter._def.procedures);
const nastyPaths = ['', '.', '..', '__proto__', 'constructor', 'prototype', 'toString', 'admin.__proto__', 'admin.constructor', 'onRoom.subscribe', 'a'.repeat(5_000), 'rooms..join', 'admin.stats.', '\u0000', '🙂'];
const fieldNames = ['roomId', 'userId', 'type', 'data', 'status', 'metadata', 'agentId', 'actionId', 'reason', 'limit', 'types', 'scope', 'lastEventId', 'notificationId', 'title', 'message', 'approvers', 'details', 'isTyping', 'progress', 'level', 'link', 'expiresInMs', '__proto__', 'constructor'];

const path = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...knownPaths) }, fc.constantFrom(...nastyPaths), fc.string({ maxLength: 40 }));
const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(...eventTypes), fc.string({ maxLength: 300 }), fc.integer(), fc.double());
const fieldSoup = fc.dictionary(fc.constantFrom(...fieldNames), fieldValue, { maxKeys: 6 });
/** superjson's envelope, sometimes with annotations a client could forge. */
const serializedInput = fc.oneof(
  fc.record({ json: fc.oneof(fieldSoup, fc.jsonValue({ maxDepth: 4 })) }, { requiredKeys: [] }),
  fc.record({
    json: fieldSoup,
    meta: fc.record({
      values: fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.constantFrom('Date', 'map', 'set', 'bigint', 'undefined', 'regexp', 'number', 'symbol', 'Error', 'URL'), fc.jsonValue({ maxDepth: 2 }))),
      referentialEqualities: fc.jsonValue({ maxDepth: 2 }),
    }, { requiredKeys: [] }),
  }),
  fc.jsonValue({ maxDepth: 3 }),
);
const requestId = fc.oneof(fc.nat(), fc.string({ maxLength: 10 }), fc.constant(null), fc.jsonValue({ maxDepth: 1 }));
const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('query', 'mutation', 'subscription', 'subscription.stop') }, fc.constantFrom('connectionParams', 'reconnect', 'PING'), fc.string({ maxLength: 12 }));
const trpcMessage = fc.record(
  { id: requestId, jsonrpc: fc.constantFrom('2.0', undefined), method, params: fc.oneof(fc.record({ path, input: serializedInput, lastEventId: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: ['path'] }), fc.jsonValue({ maxDepth: 2 })) },
  { requiredKeys: ['method'] },
);
/** Well-formed envelopes with known paths and input soup: these reach middleware, validation and handlers. */
const wellFormedMessage = fc.record({
  id: fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 8 })),
  method: fc.constantFrom('query', 'mutation', 'subscription'),
  params: fc.record({ path: fc.constantFrom(...knownPaths), input: fc.record({ json: fc.oneof({ weight: 3, arbitrary: fieldSoup }, fc.jsonValue({ maxDepth: 3 })) }), lastEventId: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }) }),
});
const frame = fc.oneof(
  { weight: 8, arbitrary: wellFormedMessage.map((message) => JSON.stringify(message)) },
  { weight: 4, arbitrary: trpcMessage.map((message) => JSON.stringify(message)) },
  { weight: 2, arbitrary: fc.array(fc.oneof(wellFormedMessage, trpcMessage), { maxLength: 5 }).map((batch) => JSON.stringify(batch)) },
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('PING', 'PONG', '{', '[', '{"id":1,"method":"query","params":{"path":"presence.online"}}', '[]', 'null', '""'),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

let target: GuardedServer;
let guard: ProcessGuard;
let bystander: OfficialClient;
let bystanderReceived = 0;
beforeAll(async () => {
  guard = guardProcess();
  // Rate limits high: this test is about what input does, not how much of it.
  target = await startGuardedServer({ rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000 });
  bystander = officialClient(target.wsUrl, await target.token('bystander'));
  let started = false;
  bystander.api.onNotification.subscribe(undefined, { onStarted: () => (started = true), onData: () => bystanderReceived++ });
  await waitFor(() => started, 'bystander subscribed');
});
afterAll(async () => {
  await bystander.close();
  await target.stop();
  guard.release();
});

interface Tally {
  inputs: number;
  answers: number;
  byCode: Map<string, number>;
  crashes: string[];
}
const tally = (): Tally => ({ inputs: 0, answers: 0, byCode: new Map(), crashes: [] });
const count = (into: Tally, code: string) => into.byCode.set(code, (into.byCode.get(code) ?? 0) + 1);

/** Checks every answer a raw socket has received since `from`; returns where it stopped. */
function checkAnswers(socket: RawSocket, from: number, into: Tally): number {
  for (const message of socket.messages.slice(from)) {
    into.answers++;
    if (message === 'PONG') continue;
    const shaped = message as { id?: unknown; result?: { type?: string }; error?: { json?: { data?: { code?: string } } }; method?: string };
    if (shaped.result && ['data', 'started', 'stopped'].includes(shaped.result.type ?? '')) {
      count(into, `result:${shaped.result.type}`);
      continue;
    }
    const code = shaped.error?.json?.data?.code;
    if (code && clientErrorCodes.has(code)) count(into, code);
    else into.crashes.push(`unexpected answer ${JSON.stringify(message).slice(0, 300)}`);
  }
  return socket.messages.length;
}

const sentinelPath = 'presence.online';

/** Reads an SSE response until it ends, carries an error, or 200 ms pass; then aborts it. */
async function readStreamBriefly(response: Response, abort: AbortController): Promise<string> {
  const timer = setTimeout(() => abort.abort(), 200);
  let text = '';
  try {
    const decoder = new TextDecoder();
    const reader = response.body?.getReader();
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
      text += decoder.decode(chunk.value, { stream: true });
      if (text.includes('event: serialized-error')) break;
    }
  } catch {
    // Aborted: the stream was healthy and stayed open.
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return text;
}

/** The error payloads of an SSE stream's `serialized-error` events (superjson's `{ json }`). */
function sseErrors(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('event: serialized-error'))
    .map((block) => (JSON.parse(block.split('\n').find((line) => line.startsWith('data: '))!.slice(6)) as { json?: unknown }).json);
}

describe('hostile input (fast-check)', () => {
  it(`answers ${wsRuns} bursts of up to ${framesPerRun} random WebSocket frames with tRPC errors, and never crashes`, async () => {
    // Sockets without a valid token are closed (4401) after answering UNAUTHORIZED: they are
    // covered by test/reliability/unauthenticated.test.ts. Here, what an authenticated peer sends.
    const sockets = await Promise.all([
      openRawSocket(target.wsUrl, await target.token('mallory')),
      openRawSocket(target.wsUrl, await target.token('eve', 'admin')),
    ]);
    const seen = sockets.map(() => 0);
    const result = tally();
    const baseline = await liveMemoryBytes();
    let sentinel = 0;

    await fc.assert(
      fc.asyncProperty(fc.nat(sockets.length - 1), fc.array(frame, { minLength: 1, maxLength: framesPerRun }), async (which, frames) => {
        const socket = sockets[which]!;
        for (const data of frames) socket.send(data);
        result.inputs += frames.length;
        // A sentinel call after the frames: once it is answered, the frames before it have been read.
        const id = `sentinel-${++sentinel}`;
        socket.send({ id, method: 'query', params: { path: sentinelPath, input: { json: undefined } } });
        await waitFor(() => socket.messages.some((message) => (message as { id?: unknown }).id === id) || socket.socket.readyState !== socket.socket.OPEN, 'sentinel answer');
        if (socket.socket.readyState !== socket.socket.OPEN) result.crashes.push(`socket ${which} closed: ${JSON.stringify(await socket.closed)}`);
        seen[which] = checkAnswers(socket, seen[which]!, result);
        expect(result.crashes).toEqual([]);
      }),
      { numRuns: wsRuns },
    );
    for (const socket of sockets) socket.close();
    await waitFor(() => target.server.transport.connectionCount === 1, 'hostile sockets gone');
    const after = await liveMemoryBytes();

    const internal = target.reported.filter(({ context }) => context.startsWith('procedure'));
    console.log(
      `[reliability] hostile WebSocket input: ${result.inputs} random frames (+${sentinel} sentinels) on ${sockets.length} sockets, ${result.answers} answers ` +
        `${JSON.stringify(Object.fromEntries(result.byCode))}; crashes found ${result.crashes.length + internal.length + guard.unhandledRejections.length + guard.uncaughtExceptions.length}; ` +
        `live memory ${((after - baseline) / mebibyte).toFixed(1)} MB from baseline`,
    );
    expect(result.crashes).toEqual([]);
    expect(internal).toEqual([]);
    expect(guard.unhandledRejections).toEqual([]);
    expect(guard.uncaughtExceptions).toEqual([]);
    expect(after - baseline).toBeLessThan(memoryReturnBoundBytes);
  }, 60_000);

  it(`answers ${httpRuns} random HTTP requests with tRPC errors, and never crashes`, async () => {
    const adminToken = await target.token('eve', 'admin');
    const userToken = await target.token('mallory');
    const result = tally();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // Well-formed: what the official httpLink sends, with input soup.
          { weight: 3, arbitrary: fc.record({
            httpMethod: fc.constantFrom('GET', 'POST'),
            paths: fc.array(fc.constantFrom(...knownPaths), { minLength: 1, maxLength: 2 }),
            batch: fc.constant(false),
            query: fc.option(fc.record({ json: fieldSoup }).map((input) => JSON.stringify(input))),
            body: fc.option(fc.record({ json: fieldSoup }).map((input) => JSON.stringify(input))),
            contentType: fc.constant('application/json'),
            authorization: fc.constantFrom(`Bearer ${adminToken}`, `Bearer ${userToken}`),
          }) },
          fc.record({
            httpMethod: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
            paths: fc.array(path, { minLength: 1, maxLength: 3 }),
            batch: fc.boolean(),
            query: fc.option(fc.oneof(serializedInput.map((input) => JSON.stringify(input) ?? ''), fc.string({ maxLength: 100 }))),
            body: fc.option(fc.oneof(serializedInput.map((input) => JSON.stringify(input) ?? ''), fc.string({ maxLength: 300 }), fc.jsonValue().map((value) => JSON.stringify(value) ?? ''))),
            contentType: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', ''),
            authorization: fc.constantFrom(`Bearer ${adminToken}`, `Bearer ${userToken}`, 'Bearer nope', 'Basic Zm9vOmJhcg==', ''),
          }),
        ),
        async (request) => {
          const search = new URLSearchParams();
          if (request.batch) search.set('batch', '1');
          if (request.query !== null) search.set('input', request.query);
          const url = `${target.url}/trpc/${request.paths.map(encodeURIComponent).join(',')}?${search}`;
          const withBody = request.body !== null && !['GET', 'OPTIONS'].includes(request.httpMethod);
          const abort = new AbortController();
          const response = await fetch(url, {
            method: request.httpMethod,
            headers: { ...(request.contentType && { 'content-type': request.contentType }), ...(request.authorization && { authorization: request.authorization }) },
            ...(withBody && { body: request.body! }),
            signal: abort.signal,
          });
          result.inputs++;
          result.answers++;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          // A subscription over HTTP is an SSE stream: read its first events, then hang up.
          const isStream = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
          const text = isStream ? await readStreamBriefly(response, abort) : await response.text();
          if (response.status >= 500) result.crashes.push(`${response.status} for ${request.httpMethod} ${url.slice(0, 200)}: ${text.slice(0, 300)}`);
          // A tRPC answer is JSON (one object, or an array for a batch), or SSE events carrying
          // JSON; either way its errors carry client codes.
          let parsed: unknown[] = [];
          try {
            parsed = isStream ? sseErrors(text) : [JSON.parse(text)].flat();
          } catch {
            result.crashes.push(`unparseable answer ${response.status} ${text.slice(0, 100)}`);
          }
          for (const item of parsed) {
            const shaped = item as { error?: { json?: { data?: { code?: string } } }; data?: { code?: string } } | undefined;
            const code = shaped?.error?.json?.data?.code ?? shaped?.data?.code;
            if (code === undefined) continue;
            if (clientErrorCodes.has(code)) count(result, code);
            else result.crashes.push(`code ${code} for ${request.httpMethod} ${url.slice(0, 200)}`);
          }
          expect(result.crashes).toEqual([]);
        },
      ),
      { numRuns: httpRuns },
    );
    const internal = target.reported.filter(({ context }) => context.startsWith('procedure') || context === 'http request');
    console.log(
      `[reliability] hostile HTTP input: ${result.inputs} random requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `codes ${JSON.stringify(Object.fromEntries(result.byCode))}; crashes found ${result.crashes.length + internal.length}`,
    );
    expect(result.crashes).toEqual([]);
    expect(internal).toEqual([]);
    expect(guard.unhandledRejections).toEqual([]);
  }, 60_000);

  it('still serves the bystander and reports healthy afterwards', async () => {
    const before = bystanderReceived;
    await target.server.services.core.sendToUser('bystander', 'notification.new', { title: 'still here', message: '' });
    await waitFor(() => bystanderReceived > before, 'bystander event');
    expect((await fetch(`${target.url}/healthz`)).status).toBe(200);
  });
});
