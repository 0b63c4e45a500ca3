/** Medians over repeats per (server, N), and our server's ratios to the others. */
import { serverKinds, type ServerKind } from './contracts.js';
import type { CellResult } from './measure-cell.js';
import { median } from './statistics.js';

export interface SummaryRow {
  server: ServerKind;
  subscribers: number;
  repeats: number;
  deliveriesPerSecond: number;
  /** Server CPU per delivery in the full-speed phase. */
  cpuMicrosPerDelivery: number;
  cpuMicrosPerDeliveryFixedRate: number;
  fixedRateP50Ms: number;
  fixedRateP99Ms: number;
  fullSpeedP50Ms: number;
  fullSpeedP99Ms: number;
  rssKbPerConnection: number;
  heapKbPerConnection: number;
  externalKbPerConnection: number;
  problems: string[];
}

export interface RatioRow {
  subscribers: number;
  versus: ServerKind;
  /** ours / theirs: below 1 means we are cheaper, faster or smaller. */
  cpuMicrosPerDelivery: number;
  fixedRateP99Ms: number;
  fullSpeedP99Ms: number;
  rssKbPerConnection: number;
  /** ours / theirs: above 1 means we deliver more per second. */
  deliveriesPerSecond: number;
}

export function summarize(cells: readonly CellResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const counts = [...new Set(cells.map((cell) => cell.subscribers))].sort((a, b) => a - b);
  for (const subscribers of counts) {
    for (const server of serverKinds) {
      const group = cells.filter((cell) => cell.server === server && cell.subscribers === subscribers);
      if (group.length === 0) continue;
      const of = (pick: (cell: CellResult) => number) => median(group.map(pick));
      rows.push({
        server,
        subscribers,
        repeats: group.length,
        deliveriesPerSecond: of((cell) => cell.fullSpeed.deliveriesPerSecond),
        cpuMicrosPerDelivery: of((cell) => cell.fullSpeed.cpuMicrosPerDelivery),
        cpuMicrosPerDeliveryFixedRate: of((cell) => cell.fixedRate.cpuMicrosPerDelivery),
        fixedRateP50Ms: of((cell) => cell.fixedRate.latencyP50Ms),
        fixedRateP99Ms: of((cell) => cell.fixedRate.latencyP99Ms),
        fullSpeedP50Ms: of((cell) => cell.fullSpeed.latencyP50Ms),
        fullSpeedP99Ms: of((cell) => cell.fullSpeed.latencyP99Ms),
        rssKbPerConnection: of((cell) => cell.rssKbPerConnection),
        heapKbPerConnection: of((cell) => cell.heapKbPerConnection),
        externalKbPerConnection: of((cell) => cell.externalKbPerConnection),
        problems: group.flatMap((cell) => cell.problems.map((problem) => `repeat ${cell.repeat}: ${problem}`)),
      });
    }
  }
  return rows;
}

export function ratios(rows: readonly SummaryRow[]): RatioRow[] {
  const result: RatioRow[] = [];
  for (const ours of rows.filter((row) => row.server === 'trpc')) {
    for (const theirs of rows.filter((row) => row.subscribers === ours.subscribers && row.server !== 'trpc')) {
      result.push({
        subscribers: ours.subscribers,
        versus: theirs.server,
        cpuMicrosPerDelivery: ours.cpuMicrosPerDelivery / theirs.cpuMicrosPerDelivery,
        fixedRateP99Ms: ours.fixedRateP99Ms / theirs.fixedRateP99Ms,
        fullSpeedP99Ms: ours.fullSpeedP99Ms / theirs.fullSpeedP99Ms,
        rssKbPerConnection: ours.rssKbPerConnection / theirs.rssKbPerConnection,
        deliveriesPerSecond: ours.deliveriesPerSecond / theirs.deliveriesPerSecond,
      });
    }
  }
  return result;
}
