/**
 * A load-generator process: holds N subscriber sockets (and, for one generator, the publisher),
 * records deliveries and their latency, and publishes at a fixed rate or at full speed when the
 * orchestrator says so. Everything it waits for has a deadline.
 */
import WebSocket from 'ws';
import { serveParent } from '../ipc.js';
import { epochNow, type LoadOperations, type PublishResult, type SubscriberIdentity, type TargetInfo } from '../contracts.js';
import { MembershipCounter, signUserTokens } from './membership-counter.js';
import { DeliveryRecorder } from './delivery-recorder.js';
import { wireProtocols, type Role, type WireProtocol } from './wire-protocols.js';
import { verifyOfficialClients } from './verify-official-clients.js';

/** Handshakes in flight at once: more only overflows the server's accept backlog. */
const connectConcurrency = 64;
const perSocketTimeoutMs = 20_000;

let target: TargetInfo | undefined;
let protocol: WireProtocol | undefined;
let subscribers: WebSocket[] = [];
let publisher: WebSocket | undefined;
let unexpectedCloses = 0;
let tearingDown = false;
let publishErrors = 0;
let firstPublishError: string | undefined;
/** Events sent by the publish in progress (or the last one), for the soak's periodic `progress`. */
let publishedSoFar = 0;
const recorder = new DeliveryRecorder();
const membership = new MembershipCounter();
/**
 * Membership events are counted while connecting only (what the count is for): in the publishing
 * phases its five scans of every frame would cost more per message for a server whose frames are
 * longer, where the recorder is built to cost the same whatever server sent the frame.
 */
let countingMembership = false;
/** CPU and wall clock at `arm`, to tell whether this generator, not the server, was the bottleneck. */
let armedCpu = process.cpuUsage();
let armedAt = performance.now();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function connectOne(role: Role, token?: string): Promise<WebSocket> {
  const wire = protocol!;
  const socket = new WebSocket(wire.url(target!, role), { perMessageDeflate: false });
  return new Promise<WebSocket>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail(`${role} handshake timed out`), perSocketTimeoutMs);
    socket.on('error', (error) => fail(error.message));
    socket.once('close', (code) => {
      if (!settled) fail(`${role} closed during handshake (${code})`);
      else if (!tearingDown) unexpectedCloses++;
    });
    socket.on('open', () => {
      wire.onOpen(socket, target!, role, token);
      if (role === 'publisher' && wire.publisherReadyOnOpen) ready();
    });
    const ready = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('message');
      socket.on('message', role === 'publisher' ? onPublisherMessage(socket) : onSubscriberMessage(socket));
      resolve(socket);
    };
    socket.on('message', (data: Buffer) => {
      const step = wire.handshake(socket, data, role);
      if (step === 'ready') ready();
      else if (step !== 'pending') fail(step.error);
    });
  });
}

function onSubscriberMessage(socket: WebSocket) {
  const wire = protocol!;
  return (data: Buffer) => {
    if (wire.housekeeping(socket, data)) return;
    if (countingMembership) membership.record(data);
    recorder.record(data, epochNow());
  };
}

function onPublisherMessage(socket: WebSocket) {
  const wire = protocol!;
  return (data: Buffer) => {
    if (wire.housekeeping(socket, data)) return;
    if (data.indexOf('"error"') !== -1) {
      publishErrors++;
      firstPublishError ??= data.toString().slice(0, 300);
    }
  };
}

async function publish(firstSequence: number, events: number, plan: LoadOperations['publish']['request']['plan'], timeoutMs: number): Promise<PublishResult> {
  if (!publisher || !protocol) throw new Error('No publisher connected');
  const socket = publisher;
  const wire = protocol;
  publishErrors = 0;
  firstPublishError = undefined;
  const deadline = performance.now() + timeoutMs;
  let published = 0;
  publishedSoFar = 0;
  const send = () => {
    publishedSoFar++;
    const sequence = firstSequence + published++;
    wire.publish(socket, `${sequence}@${epochNow().toFixed(3)}`, sequence);
  };
  const startedAt = epochNow();
  if (plan.mode === 'rate') {
    const intervalMs = 1000 / plan.eventsPerSecond;
    const origin = performance.now();
    while (published < events && performance.now() < deadline) {
      const wait = origin + published * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      send();
    }
  } else {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        recorder.onEventComplete = undefined;
        resolve();
      }, timeoutMs);
      const pump = () => {
        while (published < events && published - recorder.completedEvents < plan.window) send();
        if (published >= events) {
          clearTimeout(timer);
          recorder.onEventComplete = undefined;
          resolve();
        }
      };
      recorder.onEventComplete = pump;
      pump();
    });
  }
  return { published, publishErrors, ...(firstPublishError !== undefined && { firstError: firstPublishError }), startedAt, finishedAt: epochNow() };
}

async function closeAll(timeoutMs: number): Promise<number> {
  tearingDown = true;
  const sockets = publisher ? [...subscribers, publisher] : subscribers;
  subscribers = [];
  publisher = undefined;
  const closed = sockets.map(
    (socket) => new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()))),
  );
  for (const socket of sockets) socket.terminate();
  await Promise.race([Promise.all(closed), sleep(timeoutMs)]);
  tearingDown = false;
  unexpectedCloses = 0;
  return sockets.length;
}

const { announceReady } = serveParent<LoadOperations>({
  async connect({ target: next, subscribers: count, publisher: withPublisher, timeoutMs, identity }) {
    if (subscribers.length > 0 || publisher) await closeAll(5_000);
    target = next;
    protocol = wireProtocols[next.kind];
    // Signed before the clock starts: the connect time is the server's, not the signing's.
    const tokens = await tokensFor(next, count, identity);
    membership.reset();
    countingMembership = true;
    const started = performance.now();
    const deadline = started + timeoutMs;
    let nextIndex = 0;
    let failed = 0;
    let firstError: string | undefined;
    const worker = async () => {
      while (nextIndex < count && performance.now() < deadline) {
        const index = nextIndex++;
        try {
          subscribers.push(await connectOne('subscriber', tokens?.[index]));
        } catch (error) {
          failed++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    };
    // The publisher first: near a server's connection (or open-file) limit, the subscribers that
    // do not fit are counted as failures, and the run still has someone to publish.
    if (withPublisher) publisher = await connectOne('publisher');
    await Promise.all(Array.from({ length: Math.min(connectConcurrency, count) }, worker));
    return { connected: subscribers.length, failed, ...(firstError !== undefined && { firstError }), milliseconds: performance.now() - started };
  },

  async arm({ firstSequence, events }) {
    countingMembership = false;
    recorder.arm(firstSequence, events, subscribers.length);
    unexpectedCloses = 0;
    armedCpu = process.cpuUsage();
    armedAt = performance.now();
    return { armed: true };
  },

  async collect({ timeoutMs, maxSamples }) {
    const complete = await recorder.waitUntilComplete(timeoutMs);
    const cpu = process.cpuUsage(armedCpu);
    const wallMilliseconds = performance.now() - armedAt;
    const spans = recorder.eventSpans();
    return { ...recorder.summary(), samples: recorder.sortedSamples(maxSamples), eventFirstMs: spans.firstMs, eventLastMs: spans.lastMs, unexpectedCloses, timedOut: !complete, cpuMicros: cpu.user + cpu.system, wallMilliseconds };
  },

  publish: ({ firstSequence, events, plan, timeoutMs }) => publish(firstSequence, events, plan, timeoutMs),

  async disconnect({ timeoutMs }) {
    return { closed: await closeAll(timeoutMs) };
  },

  verifyOfficialClients: ({ target: checked }) => verifyOfficialClients(checked),

  async progress() {
    const openSubscribers = subscribers.reduce((open, socket) => open + (socket.readyState === WebSocket.OPEN ? 1 : 0), 0);
    return { received: recorder.summary().received, published: publishedSoFar, openSubscribers, unexpectedCloses, membershipEvents: membership.count };
  },
});

/** One token per subscriber for distinct users of our server; none (the shared viewer) otherwise. */
async function tokensFor(next: TargetInfo, count: number, identity: SubscriberIdentity | undefined): Promise<string[] | undefined> {
  if (!identity?.distinctUsers || next.userTokenSecret === undefined) return undefined;
  return signUserTokens(next.userTokenSecret, identity.userIdPrefix, count);
}

announceReady({ pid: process.pid });
