/** A raw WebSocket speaking tRPC's protocol by hand, for hostile-input and slow-consumer tests. */
import WebSocket from 'ws';

export interface RawSocket {
  socket: WebSocket;
  messages: unknown[];
  closed: Promise<{ code: number; reason: string }>;
  send(value: unknown): void;
  close(): void;
}

export async function openRawSocket(wsUrl: string, token?: string): Promise<RawSocket> {
  const socket = new WebSocket(`${wsUrl}?connectionParams=1`);
  const messages: unknown[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => {
    const text = data.toString();
    try {
      messages.push(JSON.parse(text));
    } catch {
      messages.push(text);
    }
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ method: 'connectionParams', data: token ? { token } : {} }));
  return {
    socket,
    messages,
    closed,
    send: (value) => socket.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value)),
    close: () => socket.terminate(),
  };
}
