/**
 * A real server in a child process, driven over IPC by a reliability test. Memory figures are
 * only honest when the server's process holds nothing else: no test runner, no clients.
 * It exits when the parent goes away, so a failed test leaves no process behind.
 */
import { createRealtimeServer, defaultConfig } from '../../../server/index.js';
import { childConfigVariable, type ChildConfig, type ChildReply, type ChildRequest } from './child-protocol.js';

const overrides = JSON.parse(process.env[childConfigVariable] ?? '{}') as ChildConfig;
let procedureErrors = 0;
const server = createRealtimeServer({
  config: defaultConfig({ port: 0, logLevel: 'silent', ...overrides }),
  authSecret: 'reliability-child-secret-0123456789',
  onError: (_error, context) => {
    if (context.startsWith('procedure')) procedureErrors++;
  },
});

const reply = (message: ChildReply) => process.send?.(message);

let peakRssBytes = 0;
let peakLiveBytes = 0;
const sampleRss = () => {
  const { rss } = process.memoryUsage();
  peakRssBytes = Math.max(peakRssBytes, rss);
  return rss;
};
setInterval(sampleRss, 5).unref();

/** Live memory: what a full collection leaves in the heap and in Buffers (run with --expose-gc). */
const checkpointLive = () => {
  globalThis.gc?.();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  peakLiveBytes = Math.max(peakLiveBytes, heapUsed + arrayBuffers);
  return heapUsed + arrayBuffers;
};

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

async function broadcast(request: Extract<ChildRequest, { type: 'broadcast' }>): Promise<void> {
  const padding = 'x'.repeat(request.payloadBytes);
  let lastEventId = '';
  for (let index = 1; index <= request.count; index++) {
    const event = await server.services.core.broadcastToRoom(request.roomId, 'system.maintenance', { message: `${request.firstIndex + index - 1}:${padding}` });
    lastEventId = event.id;
    if (request.checkpointEvery > 0 && index % request.checkpointEvery === 0) checkpointLive();
    if (index % request.perBatch === 0) {
      sampleRss();
      await yieldToIo();
    }
  }
  reply({ type: 'reply', requestId: request.requestId, published: request.count, lastEventId });
}

async function handle(request: ChildRequest): Promise<void> {
  switch (request.type) {
    case 'sign':
      reply({ type: 'reply', requestId: request.requestId, token: await server.tokens.sign(request.userId, request.role, '24h', { rooms: ['*'] }) });
      return;
    case 'broadcast':
      return broadcast(request);
    case 'notify': {
      const event = await server.services.core.sendToUser(request.userId, 'notification.new', { title: request.title, message: '' });
      reply({ type: 'reply', requestId: request.requestId, eventId: event.id });
      return;
    }
    case 'memory': {
      const liveBytes = checkpointLive();
      const rssBytes = sampleRss();
      reply({ type: 'reply', requestId: request.requestId, rssBytes, liveBytes, peakRssBytes, peakLiveBytes });
      peakRssBytes = rssBytes;
      peakLiveBytes = liveBytes;
      return;
    }
    case 'counters': {
      const { counters } = server.transport;
      reply({
        type: 'reply',
        requestId: request.requestId,
        connections: server.transport.connectionCount,
        subscriptions: server.services.core.stats().subscriptions,
        slowConsumerCloses: counters.slowConsumerCloses,
        deadPeerTerminations: counters.deadPeerTerminations,
        refusedConnections: counters.refusedConnections,
        refusals: counters.refusals,
        procedureErrors,
        cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
      });
      return;
    }
  }
}

process.on('message', (request: ChildRequest) => void handle(request));
process.on('disconnect', () => void server.close().finally(() => process.exit(0)));

const { url, wsUrl } = await server.listen();
reply({ type: 'ready', url, wsUrl, pid: process.pid });
