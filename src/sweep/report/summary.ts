import { join } from 'node:path';
import type { Check } from '../baseline.js';
import { tailLines } from '../files.js';
import { METRICS } from '../metrics.js';
import { stageSlug } from '../stages.js';
import type { TrialState } from '../types.js';

/** Everything the reports are made from. */
export interface SweepSummary {
  sweep: string;
  out: string;
  created: string;
  exit_code: number;
  verdict: string;
  counts: { trials: number; done: number; failed: number; timeout: number; pending: number; regressed: number };
  metrics: string[];
  machine: Record<string, unknown>;
  baseline?: string;
  trials: { id: string; label: string; status: string; metrics: Record<string, number>; facts: Record<string, unknown>; error?: string; log_tail?: string }[];
  checks: Check[];
  regressions: Check[];
  gate?: Check[];
}

const LOG_TAIL_LINES = 15;

export function buildSummary(o: { sweep: string; out: string; metrics: string[]; states: TrialState[]; checks: Check[]; gate?: Check[]; machine: Record<string, unknown>; baseline?: string }): SweepSummary {
  const regressions = [...o.checks, ...(o.gate ?? [])].filter((c) => c.ok === false);
  const count = (st: string) => o.states.filter((s) => s.status === st).length;
  const failed = count('failed') + count('timeout');
  const pending = count('pending') + count('running');
  const exit = failed > 0 ? 3 : regressions.length > 0 ? 1 : pending > 0 ? 3 : 0;
  const verdict =
    failed > 0 ? `${failed} trial(s) failed or timed out` : regressions.length > 0 ? `${regressions.length} regression(s)` : pending > 0 ? `${pending} trial(s) not finished` : 'all trials finished, no regression';
  return {
    sweep: o.sweep,
    out: o.out,
    created: new Date().toISOString(),
    exit_code: exit,
    verdict,
    counts: { trials: o.states.length, done: count('done'), failed: count('failed'), timeout: count('timeout'), pending, regressed: new Set(regressions.map((r) => r.trial)).size },
    metrics: o.metrics,
    machine: o.machine,
    baseline: o.baseline,
    trials: o.states.map((s) => {
      const failedStage = s.stages.find((st) => st.status === 'failed' || st.status === 'timeout');
      const logTail = failedStage ? tailLines(failedStage.log ?? join(o.out, 'trials', s.id, `${stageSlug(failedStage.name)}.log`), LOG_TAIL_LINES) : undefined;
      return { id: s.id, label: s.label, status: s.status, metrics: s.metrics, facts: s.facts, error: s.error, log_tail: logTail };
    }),
    checks: o.checks,
    regressions,
    gate: o.gate,
  };
}

export function fmt(v: number | undefined, digits = 2): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}

const signed = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v)}`;

/** The Markdown summary: one row per trial, each metric with its Δ vs the baseline, a ✓/✗ column; regressions; failed trials with their last log lines. */
export function renderSummaryMarkdown(s: SweepSummary): string {
  const icon = s.exit_code === 0 ? '✅' : '❌';
  const lines = [`## ${icon} ssl sweep \`${s.sweep}\`: ${s.verdict}`, ''];
  lines.push(`${s.counts.trials} trials: ${s.counts.done} done, ${s.counts.failed} failed, ${s.counts.timeout} timed out${s.counts.pending ? `, ${s.counts.pending} not finished` : ''}${s.baseline ? `; baseline \`${s.baseline}\`` : '; no baseline'}.`, '');
  const head = ['trial', 'config', ...s.metrics.map((m) => `${m}${METRICS[m]?.unit ? ` (${METRICS[m]!.unit})` : ''}`), ''];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const t of s.trials) {
    const cells = [`\`${t.id}\``, t.label];
    let mark = t.status === 'done' ? '✓' : t.status === 'timeout' ? '✗ timeout' : t.status === 'failed' ? '✗ failed' : t.status;
    for (const m of s.metrics) {
      const c = s.checks.find((x) => x.trial === t.id && x.metric === m);
      if (!c) {
        cells.push('–');
        continue;
      }
      let cell = fmt(c.value);
      if (c.delta !== undefined) cell += ` (Δ ${signed(c.delta)})`;
      if (c.ok === false) {
        cell = `**${cell}** ✗`;
        mark = '✗';
      }
      cells.push(cell);
    }
    cells.push(mark);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (s.gate && s.gate.length > 0) {
    lines.push('', '### Relative gate (candidate / reference, medians of interleaved runs)', '', '| trial | metric | ratio | limit | |', '|---|---|---|---|---|');
    for (const g of s.gate) lines.push(`| \`${g.trial}\` | ${g.metric} | ${fmt(g.value, 3)} | ${fmt(g.limit, 3)} | ${g.ok === false ? '✗' : '✓'} |`);
  }
  if (s.regressions.length > 0) {
    lines.push('', '### Regressions', '');
    for (const r of s.regressions) lines.push(`- \`${r.trial}\` (${r.label}): **${r.metric}** = ${fmt(r.value, 3)}, baseline ${fmt(r.baseline, 3)}, limit ${fmt(r.limit, 3)} (${r.rule})`);
  }
  const failed = s.trials.filter((t) => t.status === 'failed' || t.status === 'timeout');
  if (failed.length > 0) {
    lines.push('', '### Failed trials', '');
    for (const t of failed) {
      lines.push(`- \`${t.id}\` (${t.label}): ${t.error ?? t.status}`);
      if (t.log_tail) lines.push('', '  ```', ...t.log_tail.split('\n').map((l) => `  ${l}`), '  ```', '');
    }
  }
  const m = s.machine;
  lines.push('', `<sub>${String(m.cpu_model)} (${String(m.cpu_isa)}), ${String(m.cpus)} CPUs, Node ${String(m.node)}, ssl ${String(m.git_revision)}</sub>`, '');
  return lines.join('\n');
}
