import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { median } from './metrics.js';
import type { StageSpec, SweepSpec, Trial } from './types.js';

/** Where one stage of one trial runs and what it reads. */
export interface StageContext {
  spec: SweepSpec;
  trial: Trial;
  stage: StageSpec;
  /** The trial folder (`<out>/trials/<id>`). */
  trialDir: string;
  /** The train stage's work dir (logs, checkpoints, resolved config). */
  workDir: string;
}

/** A stage kind: an existing `ssl` command, how a trial calls it, and what it yields. */
export interface StageKind {
  /** Command id with spaces, as sweep files name it. */
  name: string;
  /** `ssl` argv of the stage (without the launcher flags of cluster submission). */
  argv(ctx: StageContext): string[];
  /** Metrics from the stage's stdout and the files it wrote. */
  collect(ctx: StageContext, stdout: string): Record<string, number>;
  /** Takes a config of its own (`config:` in the stage). */
  needsConfig?: boolean;
  /** A training job itself: gets the sweep's launcher flags, as the train stage does. */
  usesLauncher?: boolean;
}

/** The resolved config `ssl train` writes into its work dir (`<config name>.json`); later stages read it. */
export function resolvedConfigPath(ctx: Pick<StageContext, 'trial' | 'workDir'>): string {
  return join(ctx.workDir, `${basename(ctx.trial.config, extname(ctx.trial.config))}.json`);
}

export const checkpointPath = (workDir: string): string => join(workDir, 'latest.ckpt');

function cfgOptionArgs(trial: Trial): string[] {
  const entries = Object.entries(trial.overrides);
  return entries.length === 0 ? [] : ['--cfg-options', ...entries.map(([k, v]) => `${k}=${formatValue(v)}`)];
}

/** A value as `--cfg-options` parses it back (lists in brackets, no spaces). */
export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(',')}]`;
  if (v === null) return 'None';
  return String(v);
}

const train: StageKind = {
  name: 'train',
  argv(ctx) {
    const seed = ctx.trial.seed === undefined ? [] : ['--seed', String(ctx.trial.seed)];
    return ['train', ctx.trial.config, '--work-dir', ctx.workDir, ...cfgOptionArgs(ctx.trial), ...seed, ...ctx.stage.args];
  },
  collect(ctx) {
    return trainLogMetrics(ctx.workDir);
  },
};

const evalKnn: StageKind = {
  name: 'eval knn',
  argv(ctx) {
    return ['eval', 'knn', resolvedConfigPath(ctx), '--checkpoint', checkpointPath(ctx.workDir), '--json', ...ctx.stage.args];
  },
  collect(_ctx, stdout) {
    const r = lastJsonLine(stdout) as { top1?: number; top5?: number };
    if (typeof r.top1 !== 'number') throw new Error('ssl eval knn printed no top-1 accuracy');
    return { 'knn.top1': r.top1, 'knn.top5': r.top5 ?? Number.NaN };
  },
};

/** `ssl eval linear BENCHMARK_CONFIG --checkpoint <train's latest.ckpt>`: a training job on the sweep's launcher; its result JSON gives linear.top1/top5. */
const evalLinear: StageKind = {
  name: 'eval linear',
  needsConfig: true,
  usesLauncher: true,
  argv(ctx) {
    return ['eval', 'linear', ctx.stage.config!, '--checkpoint', checkpointPath(ctx.workDir), '--work-dir', join(ctx.trialDir, 'linear'), ...ctx.stage.args];
  },
  collect(ctx) {
    const name = ctx.stage.args.includes('--name') ? ctx.stage.args[ctx.stage.args.indexOf('--name') + 1]! : 'linear';
    const path = join(ctx.trialDir, 'linear', 'eval', `${name}.json`);
    if (!existsSync(path)) throw new Error(`ssl eval linear wrote no result (${path})`);
    const r = JSON.parse(readFileSync(path, 'utf8')) as { metric: string; value: number; results: Record<string, unknown> };
    const top5 = r.results[r.metric.replace(/top1$/, 'top5')];
    return { 'linear.top1': r.value, 'linear.top5': typeof top5 === 'number' ? top5 : Number.NaN };
  },
};

const STAGES = new Map<string, StageKind>([
  [train.name, train],
  [evalKnn.name, evalKnn],
  [evalLinear.name, evalLinear],
]);

export function findStage(name: string): StageKind | undefined {
  return STAGES.get(name);
}

export const STAGE_NAMES = (): string[] => [...STAGES.keys()];

/** Adds a stage kind (one file per command that a sweep can run). */
export function registerStage(kind: StageKind): void {
  STAGES.set(kind.name, kind);
}

/** The stage's files in the trial folder: `train.log`, `eval-knn.log`, ... */
export const stageSlug = (name: string): string => name.replace(/\s+/g, '-');

export function lastJsonLine(text: string): Record<string, unknown> {
  for (const line of text.trim().split('\n').reverse()) {
    const t = line.trim();
    if (t.startsWith('{')) {
      try {
        return JSON.parse(t) as Record<string, unknown>;
      } catch {
        // not JSON after all: keep looking
      }
    }
  }
  throw new Error('the command printed no JSON result');
}

/** The newest `*.log.json` of a work dir (the JSON log TextLoggerHook writes). */
export function newestJsonLog(workDir: string): string | undefined {
  if (!existsSync(workDir)) return undefined;
  const logs = readdirSync(workDir).filter((f) => f.endsWith('.log.json')).map((f) => join(workDir, f));
  return logs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs || b.localeCompare(a))[0];
}

/** Header and train records of a JSON log. */
export function readJsonLog(path: string): { header: Record<string, unknown>; records: Record<string, unknown>[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  return { header: parsed.find((r) => r.mode === undefined) ?? {}, records: parsed.filter((r) => r.mode !== undefined) };
}

/**
 * Final loss (mean of the last epoch, else the last logged loss), training images/s
 * (effective total batch / median iteration time; the first iteration, which includes warm-up, is left out
 * when there are others) and the kNN monitor's last knn.top1/top5 when the run had one.
 */
export function trainLogMetrics(workDir: string): Record<string, number> {
  const log = newestJsonLog(workDir);
  if (!log) throw new Error(`no JSON training log in ${workDir}`);
  const { header, records } = readJsonLog(log);
  const epochs = records.filter((r) => r.mode === 'train_epoch' && typeof r.loss_mean === 'number');
  const iters = records.filter((r) => r.mode === 'train' && typeof r.time === 'number');
  const lastIterLoss = [...iters].reverse().find((r) => typeof r.loss === 'number')?.loss as number | undefined;
  const loss = epochs.length > 0 ? (epochs[epochs.length - 1]!.loss_mean as number) : (lastIterLoss ?? Number.NaN);
  const times = iters.map((r) => r.time as number);
  const steady = times.length > 1 ? times.slice(1) : times;
  const batch = effectiveBatch(header);
  const out: Record<string, number> = { loss };
  if (steady.length > 0 && batch.total > 0) out.images_per_s = batch.total / median(steady);
  // the online kNN monitor (evaluation = dict(type='knn')): its last evaluation, unless a later eval knn stage replaces it
  const knn = [...records].reverse().find((r) => r.mode === 'val' && typeof r['knn.top1'] === 'number');
  if (knn) {
    out['knn.top1'] = knn['knn.top1'] as number;
    if (typeof knn['knn.top5'] === 'number') out['knn.top5'] = knn['knn.top5'];
  }
  return out;
}

/** Effective total batch = ranks x per-rank batch x gradient accumulation: the run header's reproduction contract. */
export function effectiveBatch(header: Record<string, unknown>): { perRank: number; ranks: number; accumulation: number; total: number } {
  const r = (header.reproduction ?? {}) as { ranks?: number; per_rank_batch?: number; accumulation?: number; effective_batch?: number };
  const cfg = (header.config ?? {}) as Record<string, any>;
  const perRank = Number(r.per_rank_batch ?? cfg.data?.samples_per_gpu ?? 0);
  const ranks = Number(r.ranks ?? 1) || 1;
  const accumulation = Number(r.accumulation ?? cfg.optimizer_config?.update_interval ?? 1) || 1;
  return { perRank, ranks, accumulation, total: Number(r.effective_batch ?? perRank * ranks * accumulation) };
}
