/**
 * Once per run: the official clients against the servers under test. For our server this is
 * the check that matters: the load generator speaks tRPC's WebSocket protocol by hand, so we
 * confirm that (1) the official wsLink sends the same subscription request we imitate, and
 * (2) the frames the delivery path writes are accepted by the official client (superjson
 * revives the Date, the tracked id matches the event id).
 */
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import superjson from 'superjson';
import WebSocket from 'ws';
import { io as connectSocketIo } from 'socket.io-client';
import type { AppRouter } from '../../server/api/router.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { benchRoomId, type TargetInfo } from '../contracts.js';
import { signUserTokens } from './membership-counter.js';

const verifyRoomId = 'bench-verify';
const timeoutMs = 10_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${timeoutMs} ms`)), timeoutMs))]);
}

/** A `ws` that remembers what the official client sent, to compare with our imitation. */
function recordingWebSocket(sent: string[]) {
  return class RecordingWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      if (typeof data === 'string') sent.push(data);
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  };
}

async function verifyTrpc(target: TargetInfo): Promise<string[]> {
  const sent: string[] = [];
  const clientFor = (token: string | undefined) => {
    const wsClient = createWSClient({ url: target.wsUrl, WebSocket: recordingWebSocket(sent) as never, connectionParams: async () => ({ token }) });
    return { wsClient, client: createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient, transformer: superjson })] }) };
  };
  const viewer = clientFor(target.viewerToken);
  const admin = clientFor(target.adminToken);
  try {
    const message = `official-client-${Date.now()}`;
    const received = new Promise<{ id: string; data: RealtimeEvent }>((resolve, reject) => {
      const subscription = viewer.client.onRoom.subscribe(
        { roomId: verifyRoomId },
        {
          onStarted: () => {
            admin.client.admin.broadcast
              .mutate({ roomId: verifyRoomId, type: 'notification.new', data: { title: 'bench', message } })
              .catch(reject);
          },
          onData: (value) => {
            if (value.data.type === 'notification.new' && value.data.data.message === message) {
              subscription.unsubscribe();
              resolve(value as { id: string; data: RealtimeEvent });
            }
          },
          onError: reject,
        },
      );
    });
    const value = await withTimeout(received, 'official tRPC client subscription');
    const problems: string[] = [];
    if (value.id !== value.data.id) problems.push(`tracked id ${value.id} differs from event id ${value.data.id}`);
    if (!(value.data.timestamp instanceof Date)) problems.push('timestamp was not revived as a Date (superjson meta missing)');
    if (value.data.roomId !== verifyRoomId) problems.push(`roomId ${value.data.roomId}`);

    const officialSubscription = sent.map((text) => JSON.parse(text) as { method?: string; params?: { path?: string; input?: unknown } }).find((m) => m.method === 'subscription');
    const expected = JSON.stringify({ path: 'onRoom', input: { json: { roomId: verifyRoomId } } });
    const actual = JSON.stringify({ path: officialSubscription?.params?.path, input: officialSubscription?.params?.input });
    if (actual !== expected) problems.push(`official subscription request ${actual} differs from the load generator's ${expected}`);
    if (problems.length > 0) throw new Error(`official tRPC client check failed: ${problems.join('; ')}`);
    return [`official @trpc/client (wsLink + superjson) received event ${value.id} with a Date timestamp; its subscription request matches the load generator's (room '${benchRoomId}' in the run)`];
  } finally {
    viewer.wsClient.close();
    admin.wsClient.close();
  }
}

async function verifySocketIo(target: TargetInfo): Promise<string[]> {
  // `socketio-jwt` admits a connection with a valid token only.
  const auth = target.userTokenSecret === undefined ? {} : { token: (await signUserTokens(target.userTokenSecret, 'official-', 1))[0] };
  const subscriber = connectSocketIo(target.url, { transports: ['websocket'], reconnection: false, auth });
  const publisher = connectSocketIo(target.url, { transports: ['websocket'], reconnection: false, auth: { role: 'publisher' } });
  try {
    const message = `official-client-${Date.now()}`;
    const received = new Promise<void>((resolve) => {
      subscriber.on('event', (event: { data?: { message?: string } }) => {
        if (event.data?.message === message) resolve();
      });
    });
    await withTimeout(new Promise<void>((resolve) => subscriber.once('ready', () => resolve())), 'socket.io-client ready');
    await withTimeout(new Promise<void>((resolve) => (publisher.connected ? resolve() : publisher.once('connect', () => resolve()))), 'socket.io-client publisher');
    publisher.emit('publish', { type: 'notification.new', data: { title: 'bench', message } });
    await withTimeout(received, 'socket.io-client event');
    return ['official socket.io-client received a room broadcast'];
  } finally {
    subscriber.close();
    publisher.close();
  }
}

export async function verifyOfficialClients(target: TargetInfo): Promise<{ checks: string[] }> {
  if (target.kind === 'trpc') return { checks: await verifyTrpc(target) };
  if (target.kind === 'socketio' || target.kind === 'socketio-jwt') return { checks: await verifySocketIo(target) };
  return { checks: [] };
}
