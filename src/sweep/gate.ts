import { parseCfgOptions } from '../config/index.js';
import type { Check } from './baseline.js';
import { readTrialState } from './files.js';
import { METRICS, median } from './metrics.js';
import type { SweepProgress } from './progress.js';
import { runTrialLocal } from './trial-local.js';
import type { SweepSpec, Trial, TrialState } from './types.js';

const DEFAULT_RATIO_TOLERANCE = 0.1;

/**
 * `gate: relative`: for every finished trial, runs the reference (the baseline revision's ssl and/or the
 * baseline cfg-options) and the candidate interleaved, A B A B ..., `repeats` times each, one at a time so
 * both sides see the same machine; gates the ratio candidate/reference of the medians. Speed on a shared
 * runner varies by more than 2x between jobs, much less between neighbouring runs of one job.
 * Runs live in `<out>/gate/trials/<trial>.{ref,cand}<i>` and are resumed like trials.
 */
export async function runRelativeGate(spec: SweepSpec, states: TrialState[], out: string, facts: Record<string, unknown>, progress: SweepProgress): Promise<Check[]> {
  const gate = spec.gate!;
  const gateOut = `${out}/gate`;
  const refOverrides = parseCfgOptions(gate.referenceCfgOptions);
  // only the stages up to the last one that yields a gated metric (images/s needs no kNN)
  const stages = Math.max(...gate.metrics.map((m) => spec.stages.findIndex((st) => st.name === (METRICS[m]?.stage ?? 'train')))) + 1;
  const checks: Check[] = [];
  for (const s of states.filter((t) => t.status === 'done')) {
    const trial: Trial = { id: s.id, config: s.config, overrides: s.overrides, label: s.label, seed: s.seed };
    const sides = { ref: [] as TrialState[], cand: [] as TrialState[] };
    for (let i = 0; i < gate.repeats; i++) {
      for (const side of ['ref', 'cand'] as const) {
        const run: Trial = { ...trial, id: `${trial.id}.${side}${i}`, overrides: side === 'ref' ? { ...trial.overrides, ...refOverrides } : trial.overrides };
        const prev = readTrialState(gateOut, run.id);
        let st = prev?.status === 'done' ? prev : undefined;
        if (!st) {
          progress.note(`${run.id} gate run ${side === 'ref' ? 'reference' : 'candidate'} ${i + 1}/${gate.repeats} (${trial.label})`);
          st = await runTrialLocal(spec, run, gateOut, facts, {}, { bin: side === 'ref' ? gate.referenceBin : undefined, stages });
        }
        sides[side].push(st);
      }
    }
    for (const metric of gate.metrics) {
      const values = (xs: TrialState[]) => xs.filter((x) => x.status === 'done').map((x) => x.metrics[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const ref = values(sides.ref);
      const cand = values(sides.cand);
      const check: Check = { trial: s.id, label: s.label, metric: `${metric} (cand/ref)`, value: Number.NaN, baseline: 1 };
      const tol = spec.tolerance[metric];
      const rel = tol?.rel ?? DEFAULT_RATIO_TOLERANCE;
      const better = tol?.better ?? 'higher';
      check.limit = better === 'higher' ? 1 - rel : 1 + rel;
      check.rule = `ratio of medians of ${gate.repeats} interleaved runs, rel ${+(rel * 100).toFixed(4)} %`;
      if (ref.length < gate.repeats || cand.length < gate.repeats) {
        check.ok = false;
        check.rule += `; only ${ref.length} reference and ${cand.length} candidate runs finished`;
      } else {
        check.value = median(cand) / median(ref);
        check.delta = check.value - 1;
        check.ok = better === 'higher' ? check.value >= check.limit : check.value <= check.limit;
      }
      checks.push(check);
    }
  }
  return checks;
}
