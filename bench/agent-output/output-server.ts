/**
 * The server of `npm run bench -- --agent-output`, in a child process of its own so that its CPU
 * time is measured apart from the watchers': limits raised so that one address, one user's
 * 1,000 sockets and a producer at full speed measure delivery, not the limits. Tells its parent
 * where it listens and, when asked, its CPU time so far.
 */
import { createRealtimeServer, defaultConfig } from '../../server/index.js';
import { benchAuthSecret, benchLimits } from '../servers/bench-limits.js';

const config = defaultConfig({ port: 0, ...benchLimits, agentOutputMaxBytes: 2 * 1024 * 1024 });
const server = createRealtimeServer({ config, authSecret: benchAuthSecret, onError: (error, context) => console.error(`[output server] ${context}`, error) });
const { wsUrl } = await server.listen();
const send = (message: unknown) => process.send?.(message);
send({
  type: 'listening',
  wsUrl,
  viewerToken: await server.tokens.sign('viewer', 'user', '2h', { rooms: ['*'] }),
  producerToken: await server.tokens.sign('producer', 'service', '2h'),
});
process.on('message', (message: { type?: string }) => {
  if (message.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  if (message.type === 'stop') void server.close().then(() => process.exit(0));
});
