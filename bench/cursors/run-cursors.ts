/**
 * `npm run bench -- --cursors` (issue 18): M members in one room, each moving a cursor at H Hz,
 * every member subscribed to the room. Our server gets the moves through `rooms.publish`
 * (`cursor.moved`, ephemeral): sent at 20 Hz as usePublish throttles them, plus the server's
 * coalescing; every move with the server's coalescing only; every move with no coalescing.
 * Socket.IO relays every move to the room as a volatile emit. Figures per variant: deliveries per member per
 * second, the server's CPU (share of one core, and µs per move published), and the WebSocket
 * payload bytes each member receives per second.
 *
 * The members are bare `ws` sockets in this process, speaking each server's protocol as the
 * fan-out benchmark's load generator does (bench/loadgen/wire-protocols.ts); the server runs in
 * its own process, compiled, as in every other mode (bench/processes.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { benchRoomId, maxCursorMembers, type ServerKind, type TargetInfo } from '../contracts.js';
import { positiveInteger } from '../options.js';
import { startServer, stopServer, type ServerChannel } from '../processes.js';

/** `clientHz`: members send their latest position at most this often, as usePublish does (0: every move). */
type Variant = { name: string; kind: ServerKind; environment: Record<string, string>; clientHz: number };

interface CursorOptions {
  members: number;
  hz: number;
  seconds: number;
  repeats: number;
  outputDirectory: string;
}

export interface CursorResult {
  variant: string;
  repeat: number;
  members: number;
  hz: number;
  seconds: number;
  movesSent: number;
  /** Messages the members sent the server (fewer than the moves when they throttle). */
  callsSent: number;
  publishErrors: number;
  deliveriesPerMemberPerSecond: number;
  serverCpuShare: number;
  serverCpuMicrosPerMove: number;
  bytesPerMemberPerSecond: number;
  loadGeneratorCpuShare: number;
}

const usage = `npm run bench -- --cursors [options]
  --members 50     members in the room, each moving a cursor
  --hz 60          moves per member per second
  --seconds 10     measured seconds per variant (after 2 s of warm-up)
  --repeats 1      repeats of every variant (interleaved)
  --out bench-output`;

function parseCursorOptions(argv: string[]): CursorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      members: { type: 'string' },
      hz: { type: 'string' },
      seconds: { type: 'string' },
      repeats: { type: 'string' },
      out: { type: 'string', default: 'bench-output' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const members = positiveInteger(values.members, 'members', 50);
  if (members > maxCursorMembers) throw new Error(`--members: at most ${maxCursorMembers}`);
  return {
    members,
    hz: positiveInteger(values.hz, 'hz', 60),
    seconds: positiveInteger(values.seconds, 'seconds', 10),
    repeats: positiveInteger(values.repeats, 'repeats', 1),
    outputDirectory: values.out,
  };
}

/** One member's socket: its handshake, its moves, and what it receives. */
interface Member {
  socket: WebSocket;
  ready: Promise<void>;
  move(x: number, y: number): void;
  deliveries: number;
  bytes: number;
  errors: number;
}

function trpcMember(target: TargetInfo, token: string): Member {
  const socket = new WebSocket(`${target.wsUrl}?connectionParams=1`, { perMessageDeflate: false });
  let sequence = 1;
  let markReady: () => void = () => {};
  const member: Member = {
    socket,
    ready: new Promise<void>((resolve) => (markReady = resolve)),
    move: (x, y) =>
      socket.send(
        JSON.stringify({ id: ++sequence, method: 'mutation', params: { path: 'rooms.publish', input: { json: { roomId: benchRoomId, type: 'cursor.moved', data: { x, y } } } } }),
      ),
    deliveries: 0,
    bytes: 0,
    errors: 0,
  };
  socket.on('open', () => {
    socket.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
    socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId: benchRoomId } } } }));
  });
  socket.on('message', (data: Buffer) => {
    member.bytes += data.length;
    // The subscription is id 1; the moves' answers have their own ids.
    const onSubscription = data.indexOf('{"id":1,') === 0;
    if (onSubscription && data.indexOf('"type":"started"') !== -1) markReady();
    else if (onSubscription && data.indexOf('"cursor.moved"') !== -1) member.deliveries++;
    else if (!onSubscription && data.indexOf('"error"') !== -1) member.errors++;
  });
  return member;
}

function socketIoMember(target: TargetInfo): Member {
  const socket = new WebSocket(target.wsUrl, { perMessageDeflate: false });
  let markReady: () => void = () => {};
  const member: Member = {
    socket,
    ready: new Promise<void>((resolve) => (markReady = resolve)),
    move: (x, y) => socket.send(`42["cursor",{"x":${x},"y":${y}}]`),
    deliveries: 0,
    bytes: 0,
    errors: 0,
  };
  socket.on('message', (data: Buffer) => {
    member.bytes += data.length;
    if (data.length === 1 && data[0] === 0x32) socket.send('3');
    else if (data.indexOf('"cursor.moved"') !== -1) member.deliveries++;
    else if (data.indexOf('0{') === 0) socket.send('40');
    else if (data.toString() === '42["ready"]') markReady();
  });
  return member;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function measureVariant(variant: Variant, options: CursorOptions, repeat: number): Promise<CursorResult> {
  const server: ServerChannel = startServer(variant.kind, { environment: { ...variant.environment, BENCH_CURSOR_MEMBERS: String(options.members) } });
  const members: Member[] = [];
  try {
    const target = await server.ready;
    for (let index = 0; index < options.members; index++) {
      members.push(variant.kind === 'trpc' ? trpcMember(target, target.memberTokens![index]!) : socketIoMember(target));
    }
    await Promise.race([Promise.all(members.map((member) => member.ready)), sleep(20_000).then(() => Promise.reject(new Error('members not ready in 20 s')))]);

    // Every member moves at `hz`; it sends each move, or (clientHz) its latest position at most clientHz a second.
    let moves = 0;
    let sends = 0;
    const sendAll = () => {
      for (const [index, member] of members.entries()) {
        if (member.socket.readyState !== WebSocket.OPEN) continue;
        member.move(moves % 1000, index);
        sends++;
      }
    };
    const ticker = setInterval(() => {
      moves++;
      if (variant.clientHz === 0) sendAll();
    }, 1000 / options.hz);
    const clientThrottle = variant.clientHz === 0 ? undefined : setInterval(sendAll, 1000 / variant.clientHz);
    await sleep(2_000);

    const before = await server.request('stats', { collectGarbage: false }, 10_000);
    const deliveriesBefore = members.reduce((total, member) => total + member.deliveries, 0);
    const bytesBefore = members.reduce((total, member) => total + member.bytes, 0);
    const movesBefore = moves;
    const sendsBefore = sends;
    const ownCpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await sleep(options.seconds * 1000);
    const after = await server.request('stats', { collectGarbage: false }, 10_000);
    const wallSeconds = (performance.now() - startedAt) / 1000;
    const ownCpu = process.cpuUsage(ownCpuBefore);
    clearInterval(ticker);
    clearInterval(clientThrottle);
    const callsSent = sends - sendsBefore;

    const movesSent = (moves - movesBefore) * options.members;
    const deliveries = members.reduce((total, member) => total + member.deliveries, 0) - deliveriesBefore;
    const bytes = members.reduce((total, member) => total + member.bytes, 0) - bytesBefore;
    const serverCpuMicros = after.cpuMicros - before.cpuMicros;
    return {
      variant: variant.name,
      repeat,
      members: options.members,
      hz: options.hz,
      seconds: wallSeconds,
      movesSent,
      callsSent,
      publishErrors: members.reduce((total, member) => total + member.errors, 0),
      deliveriesPerMemberPerSecond: deliveries / options.members / wallSeconds,
      serverCpuShare: serverCpuMicros / (wallSeconds * 1e6),
      serverCpuMicrosPerMove: serverCpuMicros / Math.max(1, movesSent),
      bytesPerMemberPerSecond: bytes / options.members / wallSeconds,
      loadGeneratorCpuShare: (ownCpu.user + ownCpu.system) / (wallSeconds * 1e6),
    };
  } finally {
    for (const member of members) member.socket.close();
    await sleep(200);
    for (const member of members) member.socket.terminate();
    await stopServer(server);
  }
}

function markdown(options: CursorOptions, results: CursorResult[]): string {
  const lines = [
    `# Cursors: ${options.members} members × ${options.hz} Hz in one room, ${options.seconds} s measured per run`,
    '',
    '| variant | run | moves | calls sent | deliveries/member/s | server CPU (share of a core) | server CPU µs/move | KB/member/s received | errors | load generator CPU |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (result) =>
        `| ${result.variant} | ${result.repeat} | ${result.movesSent.toLocaleString('en-US')} | ${result.callsSent.toLocaleString('en-US')} | ${result.deliveriesPerMemberPerSecond.toFixed(0)} | ` +
        `${(result.serverCpuShare * 100).toFixed(0)}% | ${result.serverCpuMicrosPerMove.toFixed(1)} | ${(result.bytesPerMemberPerSecond / 1024).toFixed(1)} | ` +
        `${result.publishErrors} | ${(result.loadGeneratorCpuShare * 100).toFixed(0)}% |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export async function runCursorBench(argv: string[]): Promise<void> {
  const options = parseCursorOptions(argv);
  const variants: Variant[] = [
    { name: 'this project, usePublish throttle 20 Hz + server coalescing', kind: 'trpc', environment: { BENCH_EPHEMERAL_HZ: '20' }, clientHz: 20 },
    { name: 'this project, server coalescing only (EPHEMERAL_HZ=20)', kind: 'trpc', environment: { BENCH_EPHEMERAL_HZ: '20' }, clientHz: 0 },
    { name: 'this project, no coalescing (EPHEMERAL_HZ=0)', kind: 'trpc', environment: { BENCH_EPHEMERAL_HZ: '0' }, clientHz: 0 },
    { name: 'Socket.IO 4.8, volatile emits', kind: 'socketio', environment: {}, clientHz: 0 },
  ];
  const results: CursorResult[] = [];
  for (let repeat = 1; repeat <= options.repeats; repeat++) {
    for (let index = 0; index < variants.length; index++) {
      const variant = variants[(index + repeat - 1) % variants.length]!;
      const result = await measureVariant(variant, options, repeat);
      results.push(result);
      console.log(
        `${variant.name}: ${result.deliveriesPerMemberPerSecond.toFixed(0)} deliveries/member/s, server CPU ${(result.serverCpuShare * 100).toFixed(0)}% ` +
          `(${result.serverCpuMicrosPerMove.toFixed(1)} µs/move), ${(result.bytesPerMemberPerSecond / 1024).toFixed(1)} KB/member/s, ${result.publishErrors} errors`,
      );
    }
  }
  const outputDirectory = resolve(options.outputDirectory);
  mkdirSync(outputDirectory, { recursive: true });
  writeFileSync(resolve(outputDirectory, 'cursors.json'), `${JSON.stringify({ options, results }, null, 2)}\n`);
  writeFileSync(resolve(outputDirectory, 'cursors.md'), markdown(options, results));
  console.log(`\n${markdown(options, results)}`);
}
