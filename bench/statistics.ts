/** Small statistics the orchestrator needs: medians over repeats, percentiles over merged samples. */

export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2;
}

/** A sorted, possibly thinned, sample list and how many deliveries each sample stands for. */
export interface WeightedSamples {
  samples: readonly number[];
  weight: number;
}

/** Percentile (0–100) over several sorted sample lists, each sample weighted by its list's weight. */
export function weightedPercentile(lists: readonly WeightedSamples[], percentile: number): number {
  const merged: Array<[value: number, weight: number]> = [];
  for (const { samples, weight } of lists) for (const value of samples) merged.push([value, weight]);
  if (merged.length === 0) return Number.NaN;
  merged.sort((a, b) => a[0] - b[0]);
  const total = merged.reduce((sum, [, weight]) => sum + weight, 0);
  const wanted = (percentile / 100) * total;
  let seen = 0;
  for (const [value, weight] of merged) {
    seen += weight;
    if (seen >= wanted) return value;
  }
  return merged[merged.length - 1]![0];
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
