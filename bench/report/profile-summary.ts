/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and ranks functions by self time, plus a
 * rough split by where the code lives (ws, tRPC, superjson, Node streams, GC, our server).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the process's monotonic clock (the one process.hrtime reads). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A slice of the profile to summarize, in the same microseconds as `startTime`. */
export interface ProfileWindow {
  label: string;
  startMicros: number;
  endMicros: number;
}

export interface SelfTimeEntry {
  name: string;
  where: string;
  milliseconds: number;
  percent: number;
}

export interface ProfileSummary {
  label: string;
  /** Sampled time excluding idle, in milliseconds. */
  busyMilliseconds: number;
  top: SelfTimeEntry[];
  byArea: Array<{ area: string; milliseconds: number; percent: number }>;
}

function shortLocation(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('node_modules/');
  const shown = inModules !== -1 ? path.slice(inModules + 'node_modules/'.length) : path.replace(/^.*?\/(server|shared|bench)\//, '$1/');
  return `${shown}:${line + 1}`;
}

function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'V8/native (program)';
  if (url.includes('node_modules/ws/')) return 'ws';
  if (url.includes('node_modules/@trpc/')) return 'tRPC';
  if (url.includes('node_modules/superjson') || url.includes('node_modules/copy-anything') || url.includes('node_modules/is-what')) return 'superjson';
  if (url.includes('node_modules/zod')) return 'zod';
  if (url.includes('node_modules/')) return 'other dependencies';
  if (url.includes('/server/transport/')) return 'our transport';
  if (url.includes('/server/')) return 'our core/api';
  if (url.startsWith('node:') || url === '') return functionName === '' ? 'native' : 'Node internals/native';
  return 'other';
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** Self time per function over the whole profile, or only the samples inside `windows`. */
export function summarizeProfile(profile: CpuProfile, label: string, topCount = 25, windows: readonly ProfileWindow[] = []): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  const inWindow = (at: number) => windows.length === 0 || windows.some((window) => at >= window.startMicros && at <= window.endMicros);
  // timeDeltas[i] is the time before sample i; attribute it to the sample's node.
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (!inWindow(at)) continue;
    const id = profile.samples[i]!;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  }
  const byFunction = new Map<string, { name: string; where: string; micros: number }>();
  const byArea = new Map<string, number>();
  let busyMicros = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(root)') continue;
    busyMicros += micros;
    const name = node.callFrame.functionName || '(anonymous)';
    const where = shortLocation(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
    const area = areaOf(node);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
  }
  const percent = (micros: number) => (busyMicros > 0 ? (micros / busyMicros) * 100 : 0);
  return {
    label,
    busyMilliseconds: busyMicros / 1000,
    top: [...byFunction.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, topCount)
      .map((entry) => ({ name: entry.name, where: entry.where, milliseconds: entry.micros / 1000, percent: percent(entry.micros) })),
    byArea: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, micros]) => ({ area, milliseconds: micros / 1000, percent: percent(micros) })),
  };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [`${summary.label}: ${summary.busyMilliseconds.toFixed(0)} ms sampled busy (idle excluded)`, 'Top functions by self time:'];
  for (const entry of summary.top) {
    lines.push(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.milliseconds.toFixed(0).padStart(6)} ms  ${entry.name}  ${entry.where}`);
  }
  lines.push('', 'By area:');
  for (const entry of summary.byArea) lines.push(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.area}`);
  return lines.join('\n');
}
