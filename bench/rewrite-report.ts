/**
 * Rewrites results.md and chart.svg from a results.json, without measuring again:
 * `npx tsx bench/rewrite-report.ts [bench-output/results.json]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chartSvg } from './report/chart-svg.js';
import { resultsMarkdown } from './report/results-markdown.js';
import type { RunDescription } from './report/run-description.js';
import type { RatioRow, SummaryRow } from './summary.js';

const file = resolve(process.argv[2] ?? 'bench-output/results.json');
const { run, summary, ratios } = JSON.parse(readFileSync(file, 'utf8')) as { run: RunDescription; summary: SummaryRow[]; ratios: RatioRow[] };
const directory = dirname(file);
writeFileSync(resolve(directory, 'results.md'), resultsMarkdown(run, summary, ratios));
writeFileSync(resolve(directory, 'chart.svg'), chartSvg(run, summary));
console.log(`Rewrote ${directory}/results.md and chart.svg`);
