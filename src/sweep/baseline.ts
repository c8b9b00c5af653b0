import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { writeJson } from './files.js';
import { meanStd } from './metrics.js';
import type { SweepSpec, Tolerance, TrialState } from './types.js';

/** A metric of one trial in the baseline: the mean and spread of its runs (one run, or `seeds` runs). */
export interface BaselineMetric {
  mean: number;
  std: number;
  n: number;
  values: number[];
}

export interface BaselineFile {
  sweep: string;
  created: string;
  git_revision?: string;
  trials: Record<string, { label: string; metrics: Record<string, BaselineMetric> }>;
}

/** One metric of one trial against its baseline. */
export interface Check {
  trial: string;
  label: string;
  metric: string;
  value: number;
  baseline?: number;
  delta?: number;
  /** The worst value that still passes. */
  limit?: number;
  /** undefined: no baseline or no tolerance for this metric (reported, not gated). */
  ok?: boolean;
  /** How the limit was set (abs 2, rel 5 %, 3 std of n runs). */
  rule?: string;
}

export function readBaseline(path: string): BaselineFile {
  if (!existsSync(path)) throw new ConfigError(`baseline file ${path} does not exist; record one with ssl sweep SWEEP --update-baseline`, { code: 'SWEEP_BASELINE' });
  let b: BaselineFile;
  try {
    b = JSON.parse(readFileSync(path, 'utf8')) as BaselineFile;
  } catch (e) {
    throw new ConfigError(`baseline file ${path} is not JSON (${(e as Error).message}); record it again with --update-baseline`, { code: 'SWEEP_BASELINE' });
  }
  if (typeof b !== 'object' || b === null || typeof b.trials !== 'object') throw new ConfigError(`baseline file ${path} has no "trials"; record it with --update-baseline`, { code: 'SWEEP_BASELINE' });
  return b;
}

/** The trial a state measures (replicas of `seeds` runs count for their trial). */
export const baseTrialId = (s: Pick<TrialState, 'id' | 'replicaOf'>): string => s.replicaOf ?? s.id;

/** A baseline from finished trials: per trial and metric, mean and sample std over its seed replicas. */
export function buildBaseline(spec: SweepSpec, states: TrialState[], gitRevision: string): BaselineFile {
  const trials: BaselineFile['trials'] = {};
  for (const s of states.filter((t) => t.status === 'done')) {
    const id = baseTrialId(s);
    const t = (trials[id] ??= { label: s.label.replace(/ seed=\S+$/, ''), metrics: {} });
    for (const m of spec.metrics) {
      const v = s.metrics[m];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const entry = (t.metrics[m] ??= { mean: 0, std: 0, n: 0, values: [] });
      entry.values.push(v);
      Object.assign(entry, meanStd(entry.values), { n: entry.values.length });
    }
  }
  return { sweep: spec.name, created: new Date().toISOString(), git_revision: gitRevision, trials };
}

export function writeBaseline(path: string, b: BaselineFile): void {
  writeJson(path, b);
}

/** Finds a baseline trial by id, else by label (a config edit that changes every digest still finds its row). */
function findBase(b: BaselineFile | undefined, s: TrialState): { metrics: Record<string, BaselineMetric> } | undefined {
  if (!b) return undefined;
  const id = baseTrialId(s);
  if (b.trials[id]) return b.trials[id];
  const label = s.label.replace(/ seed=\S+$/, '');
  return Object.values(b.trials).find((t) => t.label === label);
}

/** Every collected metric of every finished trial, with its baseline and verdict where a tolerance applies. */
export function checkTrials(spec: SweepSpec, states: TrialState[], baseline: BaselineFile | undefined): Check[] {
  // metrics of a relative gate are never gated against a stored absolute number
  const relative = new Set(spec.gate?.metrics ?? []);
  const checks: Check[] = [];
  for (const s of states.filter((t) => t.status === 'done')) {
    const base = findBase(baseline, s);
    for (const metric of spec.metrics) {
      const value = s.metrics[metric];
      if (typeof value !== 'number') continue;
      const c: Check = { trial: s.id, label: s.label, metric, value };
      const b = base?.metrics[metric];
      if (b) {
        c.baseline = b.mean;
        c.delta = value - b.mean;
        const tol = spec.tolerance[metric];
        if (tol && !relative.has(metric)) Object.assign(c, judge(value, b, tol));
      }
      checks.push(c);
    }
  }
  return checks;
}

/** The most lenient of the tolerance's rules: abs, rel x |mean|, k x std of the seeds runs. */
export function judge(value: number, b: BaselineMetric, tol: Tolerance): { limit: number; ok: boolean; rule: string } {
  const slacks: [number, string][] = [];
  if (tol.abs !== undefined) slacks.push([tol.abs, `abs ${tol.abs}`]);
  if (tol.rel !== undefined) slacks.push([tol.rel * Math.abs(b.mean), `rel ${+(tol.rel * 100).toFixed(4)} %`]);
  if (tol.k !== undefined) slacks.push([tol.k * b.std, `${tol.k} std of ${b.n} runs`]);
  const [slack, rule] = slacks.reduce((a, x) => (x[0] > a[0] ? x : a));
  const limit = tol.better === 'higher' ? b.mean - slack : b.mean + slack;
  const ok = Number.isFinite(value) && (tol.better === 'higher' ? value >= limit : value <= limit);
  return { limit, ok, rule };
}
