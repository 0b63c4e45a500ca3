/**
 * Where `npm start` writes its log lines: stdout, without ever blocking the event loop or
 * shutdown, whatever reads the other end.
 *
 * Why not pino's default destination: it writes synchronously (SonicBoom `sync: true`), and on a
 * pipe whose reader stalls (a supervisor or log collector that stopped reading) each write spins
 * on EAGAIN. The SIGTERM handler then never ran and the process never exited (issue 13: still
 * running minutes later). On POSIX, Node writes to a pipe asynchronously; this destination adds
 * the bound: past `maxBufferedBytes` not yet taken by the reader, lines are dropped (counted,
 * and reported in one line once the reader catches up), and a broken pipe (EPIPE, the reader is
 * gone) turns logging off instead of throwing. `process.exit` does not wait for queued lines.
 */
import type { Writable } from 'node:stream';

export interface LogDestinationOptions {
  /** @default process.stdout */
  stream?: Writable;
  /** Bytes queued for a slow reader before lines are dropped. @default 1048576 (1 MiB) */
  maxBufferedBytes?: number;
}

export interface LogDestination {
  /** Called by pino with one serialized line. Never throws, never blocks. */
  write(line: string): void;
  /** Lines dropped because the reader was behind or gone. */
  readonly dropped: number;
  /** False once the reader has gone (EPIPE and the like): nothing more is written. */
  readonly open: boolean;
}

export function createLogDestination(options: LogDestinationOptions = {}): LogDestination {
  const stream = options.stream ?? process.stdout;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  let open = true;
  let dropped = 0;
  let droppedSinceNotice = 0;
  // A write error (EPIPE when the reader is gone) arrives as an 'error' event; unhandled, it
  // would be thrown as an uncaught exception in the middle of whatever logged.
  stream.on('error', () => {
    open = false;
  });
  const writable = () => open && !stream.destroyed && stream.writable;
  return {
    write(line) {
      if (!writable() || stream.writableLength + line.length > maxBufferedBytes) {
        dropped++;
        droppedSinceNotice++;
        return;
      }
      if (droppedSinceNotice > 0) {
        const notice = JSON.stringify({ level: 40, time: Date.now(), msg: `${droppedSinceNotice} log lines dropped: the log reader was behind` });
        droppedSinceNotice = 0;
        stream.write(`${notice}\n`);
      }
      stream.write(line);
    },
    get dropped() {
      return dropped;
    },
    get open() {
      return open;
    },
  };
}

/**
 * Keeps a broken stdout or stderr (EPIPE: the reader has gone) from ending the process with an
 * uncaught exception in the middle of a shutdown: output nobody can read is dropped, as a closed
 * terminal would drop it.
 */
export function ignoreBrokenOutputPipes(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

/**
 * Exits with `code` once the lines already queued for `stream` are written, or after
 * `maxWaitMs` if the reader does not take them: a healthy log reader gets the last lines (the
 * reason for a failed start, "stopped"), a stalled one cannot hold the process.
 */
export function exitWhenFlushed(code: number, maxWaitMs = 1_000, stream: Writable = process.stdout): void {
  process.exitCode = code;
  const exit = () => process.exit(code);
  setTimeout(exit, maxWaitMs);
  if (stream.destroyed || !stream.writable || stream.writableLength === 0) exit();
  else stream.write('', exit);
}
