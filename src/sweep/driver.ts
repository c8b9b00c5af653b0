import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { buildBaseline, checkTrials, readBaseline, writeBaseline, type BaselineFile } from './baseline.js';
import { expandTrials } from './expand.js';
import { machineFacts } from './facts.js';
import { readTrialState, sweepFiles, trialDir, writeJson } from './files.js';
import { runRelativeGate } from './gate.js';
import { renderDryRun } from './dry-run.js';
import { SweepProgress } from './progress.js';
import { writeReports } from './report/write.js';
import { isAlive, isStopping, killGroup } from './run-command.js';
import { loadSweep } from './spec.js';
import { stageSlug } from './stages.js';
import { runTrialLocal } from './trial-local.js';
import type { SweepSpec, Trial, TrialState } from './types.js';

export interface SweepOptions {
  file: string;
  out?: string;
  cfgOptions?: string[];
  dryRun?: boolean;
  baseline?: string;
  updateBaseline?: boolean;
  retryFailed?: boolean;
  /** Cluster launchers: exit after submission; `ssl sweep collect` gathers the results. */
  noWait?: boolean;
  /** Slurm: submit each stage of the new trials as one job array (`sbatch --array`). */
  slurmArray?: boolean;
  /** With slurmArray: at most this many tasks of a stage at once (`--array=...%N`; default max_parallel). */
  arrayThrottle?: number;
  /** Only re-attach to submitted trials and report (ssl sweep collect). */
  collectOnly?: boolean;
  /** `ssl train`'s flag names (launcher_options may use them). */
  trainFlags: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** What a sweep folder records about how it was started, so rerun, status and collect find the same trials. */
export interface SweepPlan {
  file: string;
  cfgOptions: string[];
  baseline?: string;
  updateBaseline: boolean;
  name: string;
  launcher: string;
  trials: Trial[];
}

export const defaultOutDir = (name: string): string => resolve('work_dirs', 'sweeps', name);

/** Loads and expands a sweep (bad input: a ConfigError, exit 2). */
export function planSweep(o: Pick<SweepOptions, 'file' | 'cfgOptions' | 'baseline' | 'updateBaseline' | 'trainFlags'>): { spec: SweepSpec; trials: Trial[]; baseline?: BaselineFile } {
  const spec = loadSweep(o.file, { cfgOptions: o.cfgOptions, trainFlags: o.trainFlags, baselineOverride: o.baseline });
  // a relative gate's metrics are judged against the reference run, not a baseline file
  const gated = Object.keys(spec.tolerance).filter((m) => !spec.gate?.metrics.includes(m));
  if (gated.length > 0 && !spec.baseline && !o.updateBaseline) {
    throw new ConfigError(`${o.file}: "tolerance" is set but there is no baseline to compare with; set baseline: FILE, pass --baseline FILE, or record one with --update-baseline`, {
      code: 'SWEEP_SPEC',
    });
  }
  if (Object.values(spec.tolerance).some((t) => t.k !== undefined) && !spec.seeds) {
    throw new ConfigError(`${o.file}: a tolerance with k (a band of k std) needs seeds: N, the repeated runs --update-baseline measures the band from`, { code: 'SWEEP_SPEC' });
  }
  const trials = expandTrials(spec, { replicas: o.updateBaseline });
  const baseline = spec.baseline && !o.updateBaseline ? readBaseline(spec.baseline) : undefined;
  return { spec, trials, baseline };
}

/** Runs `tasks` with at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * `ssl sweep`: expands the trials, skips those finished before (same digest), re-attaches to submitted
 * ones, runs the rest with at most max_parallel at once, gates the metrics and writes the reports.
 * Returns the exit code: 0 ok, 1 a metric regressed, 3 a trial failed or timed out (2 is thrown as ConfigError).
 */
export async function runSweep(o: SweepOptions): Promise<number> {
  const { spec, trials, baseline } = planSweep(o);
  const out = resolve(o.out ?? defaultOutDir(spec.name));
  if ((o.slurmArray || o.arrayThrottle !== undefined) && (spec.launcher !== 'slurm' || !o.slurmArray)) {
    throw new ConfigError(o.slurmArray ? `--slurm-array needs launcher: slurm (the sweep's launcher is ${spec.launcher})` : '--array-throttle goes with --slurm-array', { code: 'SWEEP_SPEC' });
  }
  const arrayThrottle = o.slurmArray ? (o.arrayThrottle ?? spec.maxParallel) : undefined;
  if (o.slurmArray) {
    const { whyNotArray } = await import('./trial-slurm-array.js');
    const why = whyNotArray(spec);
    if (why) throw new ConfigError(`--slurm-array: ${why}; run without --slurm-array (one sbatch job per trial stage)`, { code: 'SWEEP_SPEC' });
  }
  if (o.dryRun) {
    if (arrayThrottle !== undefined) {
      const { arrayStageScript } = await import('./trial-slurm-array.js');
      const scripts = spec.stages.map((_, i) => arrayStageScript(spec, trials, out, i, arrayThrottle));
      o.stdout.write(scripts.map((sc, i) => `# ${sc.path}${i > 0 ? ` (sbatch --dependency=aftercorr:<${spec.stages[i - 1]!.name} array id> --kill-on-invalid-dep=yes)` : ''}\n${sc.text}`).join('\n'));
      return 0;
    }
    o.stdout.write(await renderDryRun(spec, trials, out));
    return 0;
  }
  if (spec.launcher === 'k8s') {
    const { whyNotK8s } = await import('./trial-k8s.js');
    const why = whyNotK8s(spec);
    if (why) throw new ConfigError(why, { code: 'SWEEP_K8S' });
  }
  const plan: SweepPlan = { file: spec.file, cfgOptions: o.cfgOptions ?? [], baseline: spec.baseline, updateBaseline: Boolean(o.updateBaseline), name: spec.name, launcher: spec.launcher, trials };
  if (!o.collectOnly) writeJson(join(out, sweepFiles.plan), plan);
  const facts = machineFacts();
  const progress = new SweepProgress(o.stderr, trials.length);
  progress.note(`ssl sweep ${spec.name}: ${trials.length} trials, ${spec.stages.map((s) => s.name).join(' -> ')}, launcher ${spec.launcher}, at most ${spec.maxParallel} at once; output ${out}`);
  const states = new Map<string, TrialState>();
  const todo: Trial[] = [];
  const attach: Trial[] = [];
  for (const t of trials) {
    const prev = readTrialState(out, t.id);
    if (prev?.status === 'done') {
      states.set(t.id, prev);
      progress.skipped(prev, 'finished earlier, skipped');
    } else if (prev && (prev.status === 'failed' || prev.status === 'timeout') && !o.retryFailed) {
      states.set(t.id, prev);
      progress.skipped(prev, `${prev.status} earlier (${prev.error ?? ''}); --retry-failed reruns it`);
    } else if (prev?.status === 'running' && prev.stages.some((s) => s.jobId)) {
      attach.push(t);
    } else if (!o.collectOnly) {
      // a local stage of a killed driver may still run: stop it before the trial starts again
      for (const s of prev?.stages ?? []) if (s.pid && isAlive(s.pid)) killGroup(s.pid, 'SIGKILL');
      if (prev) rmSync(trialDir(out, t.id), { recursive: true, force: true });
      todo.push(t);
    }
  }
  try {
    if (spec.launcher === 'slurm') {
      const { runTrialsSlurm } = await import('./trial-slurm.js');
      const ended = await runTrialsSlurm({ spec, todo, attach, out, facts, progress, noWait: Boolean(o.noWait), arrayThrottle });
      for (const s of ended) states.set(s.id, s);
    } else if (spec.launcher === 'k8s') {
      const { runTrialsK8s } = await import('./trial-k8s.js');
      const ended = await runTrialsK8s({ spec, todo, attach, out, facts, progress, noWait: Boolean(o.noWait) });
      for (const s of ended) states.set(s.id, s);
    } else {
      if (o.noWait) progress.note(`--no-wait has no effect with launcher ${spec.launcher}: its trials run in this process's children`);
      if (attach.length > 0) progress.note(`${attach.length} trial(s) record cluster jobs but the launcher is now ${spec.launcher}; they run again`);
      await pool([...attach, ...todo], spec.maxParallel, async (t) => {
        if (isStopping()) return;
        const s = await runTrialLocal(spec, t, out, facts, { onStage: (tr, st) => progress.stage(tr, st, join(trialDir(out, tr.id), `${stageSlug(st)}.log`)) });
        if (isStopping()) return;
        states.set(t.id, s);
        progress.ended(s);
      });
    }
  } finally {
    progress.stop();
  }
  const ordered = trials.map((t) => states.get(t.id) ?? readTrialState(out, t.id) ?? pendingState(t));
  if (o.noWait && ordered.some((s) => s.status === 'running')) {
    o.stderr.write(`ssl sweep: ${ordered.filter((s) => s.status === 'running').length} trial(s) submitted; check with \`ssl sweep status ${out}\`, gather with \`ssl sweep collect ${out}\`\n`);
    return 0;
  }
  const gate = spec.gate && !o.updateBaseline ? await runRelativeGate(spec, ordered, out, facts, progress) : undefined;
  const checks = checkTrials(spec, ordered, baseline);
  const summary = await writeReports({ spec, out, states: ordered, checks, gate, machine: facts, baselinePath: spec.baseline });
  if (o.updateBaseline) {
    const path = spec.baseline ?? join(out, 'baseline.json');
    if (summary.counts.failed + summary.counts.timeout > 0) {
      o.stderr.write(`ssl sweep: not updating the baseline: ${summary.verdict}\n`);
    } else {
      writeBaseline(path, buildBaseline(spec, ordered, String(facts.git_revision)));
      o.stderr.write(`ssl sweep: baseline written to ${path}\n`);
    }
  }
  o.stdout.write(`${summary.verdict}: ${join(out, sweepFiles.summaryMd)}\n`);
  for (const r of summary.regressions) o.stderr.write(`regression: trial ${r.trial} (${r.label}) ${r.metric} = ${r.value.toFixed(3)}, baseline ${r.baseline?.toFixed(3)}, limit ${r.limit?.toFixed(3)} (${r.rule})\n`);
  for (const t of summary.trials.filter((x) => x.status === 'failed' || x.status === 'timeout')) o.stderr.write(`failed: trial ${t.id} (${t.label}): ${t.error ?? t.status}\n`);
  return summary.exit_code;
}

export function pendingState(t: Trial): TrialState {
  return { id: t.id, label: t.label, config: t.config, overrides: t.overrides, seed: t.seed, replicaOf: t.replicaOf, status: 'pending', stages: [], metrics: {}, facts: {} };
}
