/**
 * What a hostile-input test counts as a crash besides a wrong answer: unhandled rejections and
 * uncaught exceptions anywhere in this process (the server runs in it), and a forced collection
 * for memory figures (vitest does not start Node with --expose-gc).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ProcessGuard {
  readonly unhandledRejections: unknown[];
  readonly uncaughtExceptions: unknown[];
  release(): void;
}

export function guardProcess(): ProcessGuard {
  const guard = { unhandledRejections: [] as unknown[], uncaughtExceptions: [] as unknown[] };
  const onRejection = (reason: unknown) => guard.unhandledRejections.push(reason);
  const onException = (error: unknown) => guard.uncaughtExceptions.push(error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    ...guard,
    release() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Heap and Buffers in use after full collections: what is really retained. */
export async function liveMemoryBytes(): Promise<number> {
  for (let round = 0; round < 3; round++) {
    collectGarbage();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
