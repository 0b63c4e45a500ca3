/**
 * The one fold of a run's text: what an `agent.output` event does to the text a reader holds.
 * The server's per-run text, the `useAgentEvents` hook and the dashboard append with it.
 *
 * Offsets make it idempotent: a delta that the text already holds (a replayed event, a catch-up
 * that overlaps live deltas) changes nothing, and one that overlaps the end adds only its tail,
 * so a reader never doubles text. A delta that starts past the end (text missing in between)
 * is refused: the caller decides (the server fills it from the run's text; a client waits for
 * the catch-up that follows a gap).
 */
export interface OutputDelta {
  delta: string;
  /** Length of the text before `delta` (UTF-16 code units). */
  offset: number;
}

export type OutputAppend =
  | { kind: 'appended'; text: string }
  | { kind: 'already_held' }
  | { kind: 'missing_before'; missingFrom: number };

export function appendOutput(text: string, { delta, offset }: OutputDelta): OutputAppend {
  if (offset > text.length) return { kind: 'missing_before', missingFrom: text.length };
  const end = offset + delta.length;
  if (end <= text.length) return { kind: 'already_held' };
  return { kind: 'appended', text: text + delta.slice(text.length - offset) };
}

/** The text after folding `event` in; unchanged when the delta is held already or text is missing before it. */
export function foldOutput(text: string, event: OutputDelta): string {
  const result = appendOutput(text, event);
  return result.kind === 'appended' ? result.text : text;
}
