/**
 * Medians per (variant, N), the ratios of (b)–(e) to (a), and ours against Socket.IO's Redis
 * adapter at the same load ((b) ÷ (d), (c) ÷ (e)). Ratios are paired: taken within
 * one repeat, between cells that ran back to back, then the median (and range) over repeats, so
 * that a machine that got busier between repeats moves both sides of a ratio together.
 */
import { median } from '../statistics.js';
import type { VariantCell } from './measure-variant.js';
import type { RedisCounters } from './redis-server.js';
import { clusterVariants, variantPairs, type ClusterVariant } from './options.js';

export interface VariantRow {
  variant: ClusterVariant;
  subscribers: number;
  repeats: number;
  processes: number;
  /** Full speed. */
  deliveriesPerSecond: number;
  /** CPU of the node server process(es), summed, per delivery (full speed). */
  serverCpuMicrosPerDelivery: number;
  serverCpuMicrosPerEvent: number;
  /** The redis-server's CPU across the full-speed phase, per event and per delivery. In (a) nothing uses Redis: its idle background. */
  redisCpuMicrosPerEvent: number;
  redisCpuMicrosPerDelivery: number;
  /**
   * The same per event less the Redis's idle background over the phase (its deliveries over
   * deliveries/s: first publish to last delivery, a little shorter than the counters' window,
   * so a little less idle is taken off than was spent).
   */
  redisCpuMicrosPerEventAboveIdle: number;
  /** Redis commands (a script's own calls included), Lua script time and socket reads, per event (full speed). */
  redisCommandsPerEvent: number;
  redisScriptMicrosPerEvent: number;
  redisSocketReadsPerEvent: number;
  /** Node plus Redis per delivery; (a) counts node only. */
  totalCpuMicrosPerDelivery: number;
  serverCpuMicrosPerDeliveryFixedRate: number;
  fixedRateP50Ms: number;
  fixedRateP99Ms: number;
  fullSpeedP99Ms: number;
  loadAverage: number;
  problems: string[];
}

/** A figure over repeats: its median and the lowest and highest repeat, so the report can show the spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface VariantRatioRow {
  subscribers: number;
  variant: ClusterVariant;
  /** variant ÷ (a), per repeat. Above 1: the variant delivers more per second. */
  deliveriesPerSecond: Spread;
  /** variant ÷ (a), per repeat: above 1 costs more. */
  serverCpuMicrosPerDelivery: Spread;
  totalCpuMicrosPerDelivery: Spread;
  /** What the variant adds per event over (a), µs: node (summed over processes), Redis, both. */
  extraServerCpuMicrosPerEvent: Spread;
  redisCpuMicrosPerEvent: Spread;
  extraTotalCpuMicrosPerEvent: Spread;
  /** The same extra spread over the N recipients. */
  extraTotalCpuMicrosPerDelivery: Spread;
}

function spread(values: readonly number[]): Spread {
  const finite = values.filter((value) => Number.isFinite(value));
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

const redisDelta = (cell: VariantCell, counter: keyof RedisCounters) => cell.fullSpeed.sideDeltas?.[counter] ?? Number.NaN;
const redisMicros = (cell: VariantCell) => redisDelta(cell, 'cpuMicros');
const perEvent = (micros: number, cell: VariantCell) => micros / cell.fullSpeed.events;
/** Node + Redis per delivery; in (a) Redis does not take part, so only node counts. */
const totalMicros = (cell: VariantCell) => cell.fullSpeed.serverCpuMicros + (cell.variant === 'memory' ? 0 : redisMicros(cell));

export function summarizeVariants(cells: readonly VariantCell[]): VariantRow[] {
  const rows: VariantRow[] = [];
  const counts = [...new Set(cells.map((cell) => cell.subscribers))].sort((a, b) => a - b);
  for (const subscribers of counts) {
    for (const variant of clusterVariants) {
      const group = cells.filter((cell) => cell.variant === variant && cell.subscribers === subscribers);
      if (group.length === 0) continue;
      const of = (pick: (cell: VariantCell) => number) => median(group.map(pick));
      rows.push({
        variant,
        subscribers,
        repeats: group.length,
        processes: group[0]!.processes,
        deliveriesPerSecond: of((cell) => cell.fullSpeed.deliveriesPerSecond),
        serverCpuMicrosPerDelivery: of((cell) => cell.fullSpeed.cpuMicrosPerDelivery),
        serverCpuMicrosPerEvent: of((cell) => perEvent(cell.fullSpeed.serverCpuMicros, cell)),
        redisCpuMicrosPerEvent: of((cell) => perEvent(redisMicros(cell), cell)),
        redisCpuMicrosPerDelivery: of((cell) => redisMicros(cell) / cell.fullSpeed.deliveries),
        redisCpuMicrosPerEventAboveIdle: of((cell) =>
          perEvent(redisMicros(cell) - (cell.redisIdleMicrosPerSecond * cell.fullSpeed.deliveries) / cell.fullSpeed.deliveriesPerSecond, cell),
        ),
        redisCommandsPerEvent: of((cell) => perEvent(redisDelta(cell, 'commands'), cell)),
        redisScriptMicrosPerEvent: of((cell) => perEvent(redisDelta(cell, 'scriptMicros'), cell)),
        redisSocketReadsPerEvent: of((cell) => perEvent(redisDelta(cell, 'socketReads'), cell)),
        totalCpuMicrosPerDelivery: of((cell) => totalMicros(cell) / cell.fullSpeed.deliveries),
        serverCpuMicrosPerDeliveryFixedRate: of((cell) => cell.fixedRate.cpuMicrosPerDelivery),
        fixedRateP50Ms: of((cell) => cell.fixedRate.latencyP50Ms),
        fixedRateP99Ms: of((cell) => cell.fixedRate.latencyP99Ms),
        fullSpeedP99Ms: of((cell) => cell.fullSpeed.latencyP99Ms),
        loadAverage: of((cell) => cell.loadAverage),
        problems: group.flatMap((cell) => cell.problems.map((problem) => `repeat ${cell.repeat}: ${problem}`)),
      });
    }
  }
  return rows;
}

/** Each cell of `variant` at N with the `baselineVariant` cell of the same N and repeat (they ran back to back). */
function pairedCells(cells: readonly VariantCell[], subscribers: number, variant: ClusterVariant, baselineVariant: ClusterVariant) {
  return cells
    .filter((cell) => cell.variant === variant && cell.subscribers === subscribers)
    .flatMap((cell) => {
      const baseline = cells.find((other) => other.variant === baselineVariant && other.subscribers === subscribers && other.repeat === cell.repeat);
      return baseline ? [{ cell, baseline }] : [];
    });
}

export function variantRatios(cells: readonly VariantCell[]): VariantRatioRow[] {
  const result: VariantRatioRow[] = [];
  const counts = [...new Set(cells.map((cell) => cell.subscribers))].sort((a, b) => a - b);
  for (const subscribers of counts) {
    for (const variant of clusterVariants.filter((name) => name !== 'memory')) {
      const pairs = pairedCells(cells, subscribers, variant, 'memory');
      if (pairs.length === 0) continue;
      const of = (pick: (cell: VariantCell, baseline: VariantCell) => number) => spread(pairs.map(({ cell, baseline }) => pick(cell, baseline)));
      const extraServer = (cell: VariantCell, baseline: VariantCell) =>
        perEvent(cell.fullSpeed.serverCpuMicros, cell) - perEvent(baseline.fullSpeed.serverCpuMicros, baseline);
      const extraTotal = (cell: VariantCell, baseline: VariantCell) => extraServer(cell, baseline) + perEvent(redisMicros(cell), cell);
      result.push({
        subscribers,
        variant,
        deliveriesPerSecond: of((cell, baseline) => cell.fullSpeed.deliveriesPerSecond / baseline.fullSpeed.deliveriesPerSecond),
        serverCpuMicrosPerDelivery: of((cell, baseline) => cell.fullSpeed.cpuMicrosPerDelivery / baseline.fullSpeed.cpuMicrosPerDelivery),
        totalCpuMicrosPerDelivery: of(
          (cell, baseline) => totalMicros(cell) / cell.fullSpeed.deliveries / (totalMicros(baseline) / baseline.fullSpeed.deliveries),
        ),
        extraServerCpuMicrosPerEvent: of(extraServer),
        redisCpuMicrosPerEvent: of((cell) => perEvent(redisMicros(cell), cell)),
        extraTotalCpuMicrosPerEvent: of(extraTotal),
        extraTotalCpuMicrosPerDelivery: of((cell, baseline) => extraTotal(cell, baseline) / cell.connected),
      });
    }
  }
  return result;
}

/** One of ours against Socket.IO's Redis adapter with as many processes, within each repeat: above 1, ours costs more. */
export interface PairRatioRow {
  subscribers: number;
  variant: ClusterVariant;
  baseline: ClusterVariant;
  redisCommandsPerEvent: Spread;
  redisCpuMicrosPerEvent: Spread;
  serverCpuMicrosPerDelivery: Spread;
  totalCpuMicrosPerDelivery: Spread;
  /** Above 1: ours delivers more per second. */
  deliveriesPerSecond: Spread;
}

export function pairRatios(cells: readonly VariantCell[]): PairRatioRow[] {
  const result: PairRatioRow[] = [];
  const counts = [...new Set(cells.map((cell) => cell.subscribers))].sort((a, b) => a - b);
  for (const subscribers of counts) {
    for (const [variant, baselineVariant] of variantPairs) {
      const pairs = pairedCells(cells, subscribers, variant, baselineVariant);
      if (pairs.length === 0) continue;
      const of = (pick: (cell: VariantCell) => number) => spread(pairs.map(({ cell, baseline }) => pick(cell) / pick(baseline)));
      result.push({
        subscribers,
        variant,
        baseline: baselineVariant,
        redisCommandsPerEvent: of((cell) => perEvent(redisDelta(cell, 'commands'), cell)),
        redisCpuMicrosPerEvent: of((cell) => perEvent(redisMicros(cell), cell)),
        serverCpuMicrosPerDelivery: of((cell) => cell.fullSpeed.cpuMicrosPerDelivery),
        totalCpuMicrosPerDelivery: of((cell) => totalMicros(cell) / cell.fullSpeed.deliveries),
        deliveriesPerSecond: of((cell) => cell.fullSpeed.deliveriesPerSecond),
      });
    }
  }
  return result;
}
