import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Check } from '../baseline.js';
import { sweepFiles, writeAtomic, writeJson } from '../files.js';
import type { SweepSpec, TrialState } from '../types.js';
import { benchEntries } from './bench.js';
import { renderJunit } from './junit.js';
import { buildSummary, renderSummaryMarkdown, type SweepSummary } from './summary.js';

/**
 * Writes every report of a sweep (each atomically): results.jsonl (rebuilt from the trial folders, one line
 * per finished stage and trial), summary.json, summary.md, junit.xml, bench.json / bench-smaller.json,
 * summary.png; appends summary.md to $GITHUB_STEP_SUMMARY when set.
 */
export async function writeReports(o: { spec: SweepSpec; out: string; states: TrialState[]; checks: Check[]; gate?: Check[]; machine: Record<string, unknown>; baselinePath?: string }): Promise<SweepSummary> {
  const summary = buildSummary({ sweep: o.spec.name, out: o.out, metrics: o.spec.metrics, states: o.states, checks: o.checks, gate: o.gate, machine: o.machine, baseline: o.baselinePath });
  const lines: string[] = [];
  for (const s of o.states) {
    for (const st of s.stages.filter((x) => x.status === 'done')) {
      lines.push(JSON.stringify({ trial: s.id, label: s.label, stage: st.name, seconds: st.seconds, metrics: st.metrics, ...s.facts }));
    }
    if (s.status === 'done') lines.push(JSON.stringify({ trial: s.id, label: s.label, stage: 'trial', metrics: s.metrics, ...s.facts }));
  }
  writeAtomic(join(o.out, sweepFiles.results), lines.length > 0 ? `${lines.join('\n')}\n` : '');
  writeJson(join(o.out, sweepFiles.summaryJson), summary);
  const md = renderSummaryMarkdown(summary);
  writeAtomic(join(o.out, sweepFiles.summaryMd), md);
  writeAtomic(join(o.out, sweepFiles.junit), renderJunit(summary));
  const bench = benchEntries(summary);
  writeJson(join(o.out, sweepFiles.bench), bench.bigger);
  writeJson(join(o.out, 'bench-smaller.json'), bench.smaller);
  const { renderSweepChart } = await import('./chart.js');
  const png = await renderSweepChart(summary);
  if (png) writeAtomic(join(o.out, sweepFiles.chart), png);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${md}\n`);
  return summary;
}
