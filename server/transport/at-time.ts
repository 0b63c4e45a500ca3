/** setTimeout's ceiling (~24.8 days); a later time is reached in steps. */
const maxTimerMs = 2_147_483_647;

/**
 * Calls `run` at `atMs` (epoch milliseconds), however far away that is, without keeping the
 * process alive. Returns its cancel.
 */
export function atTime(atMs: number, run: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const delay = atMs - Date.now();
    timer = setTimeout(() => (delay > maxTimerMs ? arm() : run()), Math.max(0, Math.min(delay, maxTimerMs)));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
