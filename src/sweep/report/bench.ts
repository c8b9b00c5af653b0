import { METRICS } from '../metrics.js';
import type { SweepSummary } from './summary.js';

/** One entry of github-action-benchmark's custom tools (`customBiggerIsBetter` / `customSmallerIsBetter`). */
export interface BenchEntry {
  name: string;
  unit: string;
  value: number;
  extra?: string;
}

/**
 * The sweep's metrics in github-action-benchmark's custom format, split by direction as its two tools
 * expect: `bench.json` (customBiggerIsBetter: accuracies, images/s) and `bench-smaller.json`
 * (customSmallerIsBetter: loss, wall time). Names are `<trial label> - <metric>`, stable across runs.
 */
export function benchEntries(s: SweepSummary): { bigger: BenchEntry[]; smaller: BenchEntry[] } {
  const bigger: BenchEntry[] = [];
  const smaller: BenchEntry[] = [];
  for (const t of s.trials) {
    if (t.status !== 'done') continue;
    for (const m of s.metrics) {
      const v = t.metrics[m];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const entry: BenchEntry = { name: `${t.label} - ${m}`, unit: METRICS[m]?.unit ?? '', value: v, extra: `trial ${t.id}` };
      (METRICS[m]?.better === 'lower' ? smaller : bigger).push(entry);
    }
  }
  return { bigger, smaller };
}
