/**
 * A hand-written SVG of the two figures the issue's goal is stated in: p99 latency at a fixed
 * rate and server CPU per delivery, each against N, one line per server. No charting library.
 */
import { serverKinds, serverLabels, type ServerKind } from '../contracts.js';
import type { SummaryRow } from '../summary.js';
import type { RunDescription } from './run-description.js';

const colors: Record<ServerKind, string> = { trpc: '#1f6feb', ws: '#8b949e', socketio: '#2da44e', 'socketio-jwt': '#bf8700' };
const width = 980;
const height = 440;
const panel = { top: 92, bottom: 70, left: 70, gap: 90 };
const panelWidth = (width - panel.left * 2 - panel.gap) / 2;
const panelHeight = height - panel.top - panel.bottom;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number): number {
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const normalized = rough / magnitude;
  return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

function drawPanel(rows: readonly SummaryRow[], counts: readonly number[], x0: number, title: string, unit: string, value: (row: SummaryRow) => number): string {
  const values = rows.map(value).filter((v) => Number.isFinite(v));
  const step = niceStep(Math.max(...values, 1e-9) * 1.1);
  const yMax = Math.ceil((Math.max(...values, 1e-9) * 1.1) / step) * step;
  const xOf = (index: number) => x0 + (counts.length === 1 ? panelWidth / 2 : 40 + (index * (panelWidth - 80)) / (counts.length - 1));
  const yOf = (v: number) => panel.top + panelHeight - (v / yMax) * panelHeight;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + panelWidth / 2}" y="${panel.top - 16}" class="title">${escapeXml(title)}</text>`);
  for (let tick = 0; tick <= yMax + step / 2; tick += step) {
    const y = yOf(tick);
    parts.push(`<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${x0 - 8}" y="${y + 4}" class="tick" text-anchor="end">${Number(tick.toPrecision(6))}</text>`);
  }
  parts.push(`<line x1="${x0}" x2="${x0}" y1="${panel.top}" y2="${panel.top + panelHeight}" class="axis"/>`);
  parts.push(`<line x1="${x0}" x2="${x0 + panelWidth}" y1="${panel.top + panelHeight}" y2="${panel.top + panelHeight}" class="axis"/>`);
  counts.forEach((count, index) => {
    parts.push(`<text x="${xOf(index)}" y="${panel.top + panelHeight + 20}" class="tick" text-anchor="middle">${count.toLocaleString('en-US')}</text>`);
  });
  parts.push(`<text x="${x0 + panelWidth / 2}" y="${panel.top + panelHeight + 42}" class="label">N subscribers in one room</text>`);
  parts.push(`<text x="${x0 - 52}" y="${panel.top + panelHeight / 2}" class="label" transform="rotate(-90 ${x0 - 52} ${panel.top + panelHeight / 2})">${escapeXml(unit)}</text>`);
  const labels: Array<{ x: number; y: number; text: string; color: string }> = [];
  for (const server of serverKinds) {
    const points = counts
      .map((count, index) => {
        const row = rows.find((candidate) => candidate.server === server && candidate.subscribers === count);
        return row && Number.isFinite(value(row)) ? { x: xOf(index), y: yOf(value(row)), v: value(row) } : undefined;
      })
      .filter((point): point is { x: number; y: number; v: number } => point !== undefined);
    if (points.length === 0) continue;
    if (points.length > 1) {
      parts.push(`<polyline fill="none" stroke="${colors[server]}" stroke-width="2.5" points="${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}"/>`);
    }
    for (const point of points) {
      parts.push(`<circle cx="${point.x.toFixed(1)}" cy="${point.y.toFixed(1)}" r="4.5" fill="${colors[server]}"/>`);
      labels.push({ x: point.x + 8, y: point.y - 7, text: String(Number(point.v.toPrecision(3))), color: colors[server] });
    }
  }
  parts.push(...spreadLabels(labels).map((label) => `<text x="${label.x.toFixed(1)}" y="${label.y.toFixed(1)}" class="value" fill="${label.color}">${label.text}</text>`));
  return parts.join('\n  ');
}

/** Moves value labels that share an x apart vertically, so close values stay readable. */
function spreadLabels<T extends { x: number; y: number }>(labels: T[]): T[] {
  const minimumGap = 13;
  const columns = new Map<number, T[]>();
  for (const label of labels) {
    const column = columns.get(Math.round(label.x)) ?? [];
    column.push(label);
    columns.set(Math.round(label.x), column);
  }
  for (const column of columns.values()) {
    column.sort((a, b) => a.y - b.y);
    for (let i = 1; i < column.length; i++) {
      if (column[i]!.y - column[i - 1]!.y < minimumGap) column[i]!.y = column[i - 1]!.y + minimumGap;
    }
  }
  return labels;
}

export function chartSvg(run: RunDescription, rows: readonly SummaryRow[]): string {
  const counts = [...new Set(rows.map((row) => row.subscribers))].sort((a, b) => a - b);
  const present = serverKinds.filter((server) => rows.some((row) => row.server === server));
  const legend = present
    .map((server, index) => {
      const x = panel.left + index * 260;
      return `<rect x="${x}" y="${height - 22}" width="14" height="14" fill="${colors[server]}"/><text x="${x + 20}" y="${height - 10}" class="legend">${escapeXml(serverLabels[server])}</text>`;
    })
    .join('\n  ');
  const subtitle = `${run.date.slice(0, 10)} · ${run.machine.cpuModel} × ${run.machine.cores} cores · Node ${run.machine.node} · medians of ${run.options.repeats} repeat(s)`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
  <style>
    .title { font-size: 15px; font-weight: 600; text-anchor: middle; fill: #24292f; }
    .label { font-size: 12px; text-anchor: middle; fill: #57606a; }
    .tick { font-size: 11px; fill: #57606a; }
    .value { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
    .legend { font-size: 12px; fill: #24292f; }
    .grid { stroke: #eaeef2; stroke-width: 1; }
    .axis { stroke: #8c959f; stroke-width: 1; }
  </style>
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="${width / 2}" y="24" font-size="17" font-weight="700" text-anchor="middle" fill="#24292f">Fan-out to one room: latency and server CPU against N</text>
  <text x="${width / 2}" y="46" font-size="12" text-anchor="middle" fill="#57606a">${escapeXml(subtitle)}</text>
  ${drawPanel(rows, counts, panel.left, `p99 latency at ${run.options.fixedRate} events/s`, 'milliseconds', (row) => row.fixedRateP99Ms)}
  ${drawPanel(rows, counts, panel.left + panelWidth + panel.gap, 'Server CPU per delivery (full speed)', 'microseconds', (row) => row.cpuMicrosPerDelivery)}
  ${legend}
</svg>
`;
}
