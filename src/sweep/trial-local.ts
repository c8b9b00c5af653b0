import { join } from 'node:path';
import { appendLine, sweepFiles, trialDir, writeTrialState } from './files.js';
import { runFacts } from './facts.js';
import { runSsl } from './run-command.js';
import { finishTrial } from './trial-record.js';
import { findStage, stageSlug, type StageContext } from './stages.js';
import type { StageState, SweepSpec, Trial, TrialState } from './types.js';

export interface TrialEvents {
  onStage?(trial: Trial, stage: string): void;
}

/**
 * The S3 prefix of one stage of one trial under `launcher_options.s3`: `<s3>/<sweep>/<trial>` for train,
 * `<s3>/<sweep>/<trial>/<stage>` for a later stage that uploads (eval linear), so that no two trials (and no
 * stage and its train) write checkpoints under one prefix.
 */
export function stageS3Prefix(spec: SweepSpec, trial: Trial, stage: string): string | undefined {
  const base = spec.launcherOptions.s3;
  if (typeof base !== 'string' || base === '') return undefined;
  const trialPrefix = `${base.replace(/\/+$/, '')}/${spec.name}/${trial.id}`;
  return stage === 'train' ? trialPrefix : `${trialPrefix}/${stageSlug(stage)}`;
}

/**
 * Launcher flags of `ssl train` (or of a stage that launches, as eval linear) from the sweep's launcher and
 * launcher_options; `at` gives `--s3` its per-trial prefix ({@link stageS3Prefix}).
 */
export function launcherFlags(spec: SweepSpec, extra: Record<string, unknown> = {}, at?: { trial: Trial; stage: string }): string[] {
  const out = spec.launcher === 'none' ? [] : ['--launcher', spec.launcher];
  const s3 = at ? stageS3Prefix(spec, at.trial, at.stage) : undefined;
  const options: Record<string, unknown> = { ...spec.launcherOptions, ...(s3 ? { s3 } : {}), ...extra };
  for (const [k, v] of Object.entries(options)) {
    if (v === false || v === undefined || v === null) continue;
    if (v === true) out.push(`--${k}`);
    else if (Array.isArray(v)) for (const x of v) out.push(`--${k}`, String(x));
    else out.push(`--${k}`, String(v));
  }
  return out;
}

export function newTrialState(trial: Trial): TrialState {
  return {
    id: trial.id, label: trial.label, config: trial.config, overrides: trial.overrides, seed: trial.seed, replicaOf: trial.replicaOf,
    status: 'running', stages: [], metrics: {}, facts: {}, startedAt: new Date().toISOString(),
  };
}

export const stageContext = (spec: SweepSpec, trial: Trial, out: string, stageIndex: number): StageContext => {
  const dir = trialDir(out, trial.id);
  // a pod's work dir is /workspace/<basename of this>: one per trial on a shared PVC
  const work = spec.launcher === 'k8s' ? `work-${trial.id}` : 'work';
  return { spec, trial, stage: spec.stages[stageIndex]!, trialDir: dir, workDir: join(dir, work) };
};

/**
 * Runs a trial's stages one after the other in processes of this machine (`ssl train` with the sweep's
 * launcher: none or local), each under its timeout. The state file is rewritten (atomically) at every
 * change and each finished stage appended to results.jsonl, so a killed driver loses nothing finished.
 */
export async function runTrialLocal(
  spec: SweepSpec,
  trial: Trial,
  out: string,
  facts: Record<string, unknown>,
  events: TrialEvents = {},
  o: { bin?: string; stages?: number } = {},
): Promise<TrialState> {
  const state = newTrialState(trial);
  writeTrialState(out, state);
  for (let i = 0; i < (o.stages ?? spec.stages.length); i++) {
    const ctx = stageContext(spec, trial, out, i);
    const kind = findStage(ctx.stage.name)!;
    const argv = kind.argv(ctx);
    if (kind.usesLauncher || kind.name === 'train') argv.push(...launcherFlags(spec, {}, { trial, stage: ctx.stage.name }));
    const st: StageState = { name: ctx.stage.name, status: 'running', startedAt: new Date().toISOString() };
    state.stages.push(st);
    writeTrialState(out, state);
    events.onStage?.(trial, ctx.stage.name);
    const r = await runSsl(argv, {
      logPath: join(ctx.trialDir, `${stageSlug(ctx.stage.name)}.log`),
      timeoutS: ctx.stage.timeout,
      bin: o.bin,
      onSpawn: (pid) => {
        st.pid = pid;
        writeTrialState(out, state);
      },
    });
    // interrupted driver: the state stays `running`, so the next run starts this trial again
    if (r.interrupted) return state;
    const { pid: _pid, ...rest } = st;
    const ended: StageState = { ...rest, endedAt: new Date().toISOString(), seconds: r.seconds, exitCode: r.exitCode };
    let result = ended;
    if (r.timedOut) {
      result = { ...ended, status: 'timeout' };
      state.error = `${ctx.stage.name} timed out after ${ctx.stage.timeout} s`;
    } else if (r.exitCode !== 0) {
      result = { ...ended, status: 'failed' };
      state.error = `${ctx.stage.name} exited with code ${r.exitCode}`;
    } else {
      try {
        result = { ...ended, status: 'done', metrics: kind.collect(ctx, r.stdout) };
      } catch (e) {
        result = { ...ended, status: 'failed' };
        state.error = `${ctx.stage.name}: ${(e as Error).message}`;
      }
    }
    state.stages[state.stages.length - 1] = result;
    if (kind.name === 'train') state.facts = { ...facts, ...runFacts(ctx.workDir) };
    Object.assign(state.metrics, result.metrics ?? {});
    if (result.status !== 'done') {
      state.status = result.status;
      break;
    }
    appendLine(join(out, sweepFiles.results), { trial: trial.id, label: trial.label, stage: ctx.stage.name, seconds: r.seconds, metrics: result.metrics, ...state.facts });
  }
  return finishTrial(out, state);
}
