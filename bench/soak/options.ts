/**
 * Command-line options of `npm run bench -- --soak`: the 20,000-connection soak of issue 7
 * (connections held with memory that stays flat). `--quick`: 5,000 connections for 1 minute.
 */
import { parseArgs } from 'node:util';

export interface SoakOptions {
  /** Subscribers held, all in one room. @default 20000 (quick: 5000) */
  subscribers: number;
  /** Load-generator processes the subscribers are split across (one fd per socket each). @default 2 */
  loadGenerators: number;
  /**
   * Server processes, one service over a Redis of the run's own when more than one; load
   * generator i connects to process i mod P. Where one process may not hold the connections (the
   * open-file limit), P processes on the same machine can. @default 1
   */
  processes: number;
  /** How long the connections are held while events flow. @default 5 (quick: 1) */
  minutes: number;
  /** Events per second published into the room during the hold. @default 1 */
  eventsPerSecond: number;
  /** Seconds between memory samples of the server (each after a forced GC). @default 10 */
  sampleSeconds: number;
  /** The open-file limit (soft and hard) the run raises itself to, so that its children inherit it. @default 65536 */
  openFiles: number;
  outputDirectory: string;
  quick: boolean;
}

const usage = `npm run bench -- --soak [options]
  --n 20000            subscribers held in one room (quick: 5000)
  --loadgens 2         load-generator processes sharing them
  --processes 1        server processes; above 1 they are one service over the run's own redis-server
  --minutes 5          how long they are held (quick: 1)
  --rate 1             events per second published into the room while holding
  --sample 10          seconds between server memory samples (forced GC before each)
  --nofile 65536       open-file limit the run raises itself (and so its children) to; needs root past the hard limit
  --quick              5000 subscribers, 1 minute
  --out bench-output   output directory (writes soak.json and soak.md)`;

function positiveNumber(text: string | undefined, name: string, fallback: number, integer = true): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) throw new Error(`--${name}: expected a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  return value;
}

export function parseSoakOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      loadgens: { type: 'string' },
      processes: { type: 'string' },
      minutes: { type: 'string' },
      rate: { type: 'string' },
      sample: { type: 'string' },
      nofile: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-output' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  return {
    subscribers: positiveNumber(values.n, 'n', quick ? 5_000 : 20_000),
    loadGenerators: positiveNumber(values.loadgens, 'loadgens', 2),
    processes: positiveNumber(values.processes, 'processes', 1),
    minutes: positiveNumber(values.minutes, 'minutes', quick ? 1 : 5, false),
    eventsPerSecond: positiveNumber(values.rate, 'rate', 1, false),
    sampleSeconds: positiveNumber(values.sample, 'sample', 10, false),
    openFiles: positiveNumber(values.nofile, 'nofile', 65_536),
    outputDirectory: values.out ?? 'bench-output',
    quick,
  };
}
