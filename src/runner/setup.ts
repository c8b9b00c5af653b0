import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { basename, dirname, extname } from 'node:path';
import { ConfigError } from '../errors.js';
import { checkArgs, closestNames } from '../registry/index.js';
import { initBackend } from '../engine/backend.js';
import { manualSeed } from '../engine/random.js';
import { tf } from '../engine/tf.js';
import { buildModel } from '../models/index.js';
import type { BaseRunner } from './base-runner.js';
import { buildTrainLoader } from './data.js';
import type { DistContext } from '../dist/trainer-context.js';
import { EpochBasedRunner, workflowOf } from './epoch-runner.js';
import { registerTrainingHooks } from './hooks/index.js';
import { IterBasedRunner } from './iter-runner.js';
import type { Logger } from './logging/logger.js';
import { auditConfigKeys } from './config-keys.js';
import { buildEvaluator, type Evaluator, type ValBatches } from './evaluation.js';
import { prepareFeatureCache } from '../eval/linear-cache.js';
import { EVAL_HOOK_ARGS, EvalHook, type EvalHookArgs } from './hooks/eval-hook.js';
import { buildOptimizer } from './optim/build.js';
import { precisionNote, requestedPrecision } from './precision.js';
import { formatContract, reproductionContract, topologyWarning } from './reproduction.js';
import { applyPretrainedInit } from './pretrained-init.js';
import { importCustomModules } from './registries.js';
import { ProgressLine } from './logging/progress.js';
import type { TrainLoader } from './types.js';
import type { WorkerArgs } from './worker-args.js';

export interface SetupOptions {
  args: WorkerArgs;
  cfg: Record<string, unknown>;
  sourceOf: (key: string) => string | undefined;
  workDir: string;
  timestamp: string;
  logger: Logger;
  dist: DistContext;
  /** Seed to use (from --seed or the resumed checkpoint); drawn on rank 0 and broadcast when undefined. */
  seed?: number;
  /** `ssl train --dry-run`: build everything, write and download nothing (s3:// Pretrained weights are not fetched). */
  dryRun?: boolean;
}

export interface TrainingSetup {
  runner: BaseRunner;
  loaders: TrainLoader[];
  /** What else to close when the run ends (the evaluation's data loader). */
  closers: (() => Promise<void>)[];
  /** The `evaluation` hook's evaluator (also built without the key when the worker must write an eval result). */
  evaluate?: Evaluator;
  /** What the feature cache did (`--feature-cache`): hit, written, or why the run went end to end. */
  featureCache?: string;
}

/** A dry run does not download s3:// Pretrained weights. */
class PretrainedSkipped extends Error {
  constructor(readonly uri: string) {
    super(`not fetched: ${uri}`);
  }
}

/** Versions saved in checkpoint meta. */
export function packageVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  let ssl = 'unknown';
  try {
    ssl = (require('../../../package.json') as { version: string }).version;
  } catch {
    // running from source
  }
  return { ssl, node: process.versions.node, '@tensorflow/tfjs-core': version('@tensorflow/tfjs-core') };
}

async function agreeOnSeed(dist: DistContext, seed: number | undefined): Promise<number> {
  if (dist.worldSize === 1) return seed ?? randomInt(2 ** 31);
  const mine = tf.scalar(seed ?? randomInt(2 ** 31), 'int32');
  const shared = await dist.broadcast(mine, 0);
  const value = (await shared.data())[0];
  mine.dispose();
  shared.dispose();
  return value;
}

/** The runner `type` and length from `runner` (or the old `total_epochs`), checked as mmcv builds it. */
export function runnerSpec(cfg: Record<string, unknown>, source: string | undefined): { type: string; maxEpochs?: number; maxIters?: number } {
  const r = (cfg.runner as Record<string, unknown> | undefined) ?? (cfg.total_epochs !== undefined ? { type: 'EpochBasedRunner', max_epochs: cfg.total_epochs } : undefined);
  const where = source ? ` (in ${source})` : '';
  if (!r) throw new ConfigError(`the config has no "runner" (e.g. runner: {type: EpochBasedRunner, max_epochs: 200})${where}`);
  const { type, max_epochs, max_iters, ...rest } = r;
  try {
    checkArgs('runner', rest, ['type', 'max_epochs', 'max_iters']);
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}${where}`, { code: 'UNKNOWN_ARGUMENT' });
  }
  // mmcv's BaseRunner: "Only one of `max_epochs` or `max_iters` can be set."; each runner type counts one of them
  if (type === 'EpochBasedRunner') {
    if (max_iters !== undefined && max_iters !== null) {
      throw new ConfigError(
        `runner.max_iters is set on an EpochBasedRunner, which counts epochs: use runner.max_epochs, or runner.type=IterBasedRunner to train for max_iters iterations${where}`,
        { code: 'RUNNER_LENGTH' },
      );
    }
    if (!Number.isInteger(max_epochs) || (max_epochs as number) < 1) throw new ConfigError(`EpochBasedRunner needs a positive integer max_epochs, got ${JSON.stringify(max_epochs)}${where}`);
    return { type, maxEpochs: max_epochs as number };
  }
  if (type === 'IterBasedRunner') {
    if (max_epochs !== undefined && max_epochs !== null) {
      throw new ConfigError(
        `runner.max_epochs is set on an IterBasedRunner, which counts iterations: use runner.max_iters, or runner.type=EpochBasedRunner to train for max_epochs epochs${where}`,
        { code: 'RUNNER_LENGTH' },
      );
    }
    if (!Number.isInteger(max_iters) || (max_iters as number) < 1) throw new ConfigError(`IterBasedRunner needs a positive integer max_iters, got ${JSON.stringify(max_iters)}${where}`);
    return { type, maxIters: max_iters as number };
  }
  const near = closestNames(String(type), ['EpochBasedRunner', 'IterBasedRunner'], 1);
  throw new ConfigError(`runner type "${String(type)}" is not supported; ${near.length > 0 ? `did you mean ${near[0]}? ` : ''}use EpochBasedRunner or IterBasedRunner${where}`);
}

/** Builds backend, seed, model, data, optimizer, runner and hooks from the resolved config. */
export async function setupTraining(o: SetupOptions): Promise<TrainingSetup> {
  const { cfg, logger, dist } = o;
  const backend = await initBackend(o.args.backend ?? (cfg.backend as string | undefined), {
    log: (l) => (l.startsWith('[engine] warning:') ? logger.warning(l) : logger.info(l)),
    threads: o.args.threads,
    precision: requestedPrecision(o.args.precision, cfg.fp16),
  });
  const seed = await agreeOnSeed(dist, o.seed);
  manualSeed(seed); // same init on every rank, as DDP starts from rank 0's weights
  const exp = basename(o.args.config, extname(o.args.config));
  logger.info(
    `Environment info:\n${'-'.repeat(60)}\nNode.js: ${process.versions.node}\nTensorFlow.js: ${packageVersions()['@tensorflow/tfjs-core']}\n` +
      `Backend: ${backend.name}${backend.gpu ? ' (GPU)' : ''}\nssl: ${packageVersions().ssl}\n${'-'.repeat(60)}`,
  );
  logger.info(`Distributed training: ${dist.worldSize > 1}`);
  logger.info(`Set random seed to ${seed}, deterministic: ${o.args.deterministic}`);

  // custom_imports first: the modules register components the config names
  const configDir = dirname(typeof cfg.filename === 'string' ? cfg.filename : o.args.config);
  const imported = await importCustomModules(cfg.custom_imports, configDir);
  for (const w of imported.warnings) logger.warning(w);
  if (imported.loaded.length > 0) logger.info(`custom_imports: loaded ${imported.loaded.join(', ')}`);
  for (const w of auditConfigKeys(cfg).warnings) logger.warning(w);
  const precision = precisionNote(cfg.fp16, o.args.precision);
  if (precision) logger.info(precision);

  const spec = runnerSpec(cfg, o.sourceOf('runner'));
  const model = buildModel(cfg.model, o.sourceOf('model'));
  await applyPretrainedInit(model, cfg.model, {
    info: (m) => logger.info(m),
    warn: (m) => logger.warning(m),
    fetch: async (uri) => {
      if (!uri.startsWith('s3://')) return uri;
      if (o.dryRun) throw new PretrainedSkipped(uri);
      const { fetchIfRemote } = await import('../storage/run-sync.js');
      return fetchIfRemote(uri, o.workDir, { endpoint: o.args.s3Endpoint });
    },
  }).catch((e: unknown) => {
    if (!(e instanceof PretrainedSkipped)) throw e;
    logger.info(`--dry-run: ${e.uri} (Pretrained) is not downloaded`);
  });
  if (dist.worldSize > 1) dist.broadcastModule?.(model);
  // linear evaluation's fast path: a frozen backbone's pooled features, extracted once, replace the images
  const fast = o.args.featureCache && !o.dryRun
    ? await prepareFeatureCache(model, cfg, { dir: o.args.featureCache, seed, dist, loadFrom: o.args.loadFrom ?? (cfg.load_from as string | null | undefined), log: (m) => logger.info(m) })
    : undefined;
  const loader = fast?.train ?? await buildTrainLoader(cfg, {
    seed, rank: dist.rank, worldSize: dist.worldSize, deterministic: o.args.deterministic, source: o.sourceOf('data'), log: (m) => logger.info(m),
  });
  if (loader.dataset) model.checkDataset(loader.dataset.length);
  // a train list (e.g. MMSelfSup's 1%/10% ImageNet subsets) naming missing files fails here, in one line
  ((loader as { dataset?: { source?: { checkListedFiles?: () => void } } }).dataset?.source)?.checkListedFiles?.();
  // a ('val', n) workflow entry: MMSelfSup's tools/train.py builds data.val with the train pipeline
  const workflow = workflowOf(cfg);
  let valLoader: TrainLoader | undefined;
  if (workflow.some(([m]) => m === 'val')) {
    const data = (cfg.data ?? {}) as Record<string, unknown>;
    if (!data.val) throw new ConfigError(`workflow has a val entry, which needs data.val${o.sourceOf('workflow') ? ` (${o.sourceOf('workflow')})` : ''}`);
    const train = (data.train ?? {}) as Record<string, unknown>;
    const val = { ...(data.val as Record<string, unknown>), ...(train.pipeline !== undefined ? { pipeline: train.pipeline } : {}) };
    valLoader = await buildTrainLoader({ ...cfg, data: { ...data, train: val } }, {
      seed, rank: dist.rank, worldSize: dist.worldSize, deterministic: o.args.deterministic, source: o.sourceOf('data'), log: (m) => logger.info(m),
    });
  }
  if (!cfg.optimizer) throw new ConfigError('the config has no "optimizer"');
  const { optimizer, messages } = buildOptimizer(model.namedParameters(), cfg.optimizer as Record<string, unknown>);
  for (const m of messages) logger.info(m);
  const contract = reproductionContract({ cfg, worldSize: dist.worldSize, groupLrs: optimizer.paramGroups.map((g) => g.lr), backend });
  logger.info(formatContract(contract));
  const topology = topologyWarning(typeof cfg.filename === 'string' ? cfg.filename : o.args.config, contract);
  if (topology) logger.warning(topology);
  const meta: Record<string, unknown> = {
    exp_name: `${exp}${extname(o.args.config) === '.json' ? '' : extname(o.args.config)}`,
    seed,
    backend: backend.name,
    versions: packageVersions(),
    config: cfg,
    reproduction: contract,
  };
  const common = { model, optimizer, workDir: o.workDir, logger, dist, meta, timestamp: o.timestamp };
  const runner: BaseRunner =
    spec.type === 'EpochBasedRunner' ? new EpochBasedRunner({ ...common, maxEpochs: spec.maxEpochs }) : new IterBasedRunner({ ...common, maxIters: spec.maxIters });
  registerTrainingHooks(runner, cfg, o.sourceOf('custom_hooks') ?? o.sourceOf('model'));
  const closers: (() => Promise<void>)[] = [];
  let evaluate: Evaluator | undefined;
  const evaluationType = (cfg.evaluation as Record<string, unknown> | undefined)?.type;
  if (evaluationType === 'knn') {
    // the online kNN monitor (an ssl addition): kNN on held-out features every interval, on rank 0
    const { knnMonitorEvaluator } = await import('../eval/knn-monitor.js');
    const ev = await knnMonitorEvaluator(model, cfg, { source: o.sourceOf('evaluation'), log: (m) => logger.info(m), rank: dist.rank });
    const { interval, start, by_epoch: byEpoch, save_best: saveBest, rule } = cfg.evaluation as EvalHookArgs;
    runner.registerHook(new EvalHook({ interval, start, by_epoch: byEpoch ?? runner.byEpoch, save_best: saveBest, rule }, ev.evaluate), 'LOW');
    evaluate = ev.evaluate;
  } else if (evaluationType !== undefined) {
    throw new ConfigError(`evaluation.type must be 'knn' (the online kNN monitor), or left out for MMSelfSup's EvalHook; got ${JSON.stringify(evaluationType)}${o.sourceOf('evaluation') ? ` (in ${o.sourceOf('evaluation')})` : ''}`);
  } else if (cfg.evaluation || o.args.evalResult) {
    // MMSelfSup's train_model: EvalHook(val data, **evaluation, by_epoch from the runner type), priority LOW
    // its keys first: a typo fails before the evaluation data is built
    try {
      checkArgs('evaluation', (cfg.evaluation ?? {}) as Record<string, unknown>, EVAL_HOOK_ARGS);
    } catch (e) {
      throw new ConfigError(`${(e as Error).message}${o.sourceOf('evaluation') ? ` (in ${o.sourceOf('evaluation')})` : ''}`, { code: 'UNKNOWN_ARGUMENT' });
    }
    const { topk, ...hookArgs } = (cfg.evaluation ?? {}) as EvalHookArgs;
    const val: ValBatches | undefined = fast?.val;
    const ev = await buildEvaluator(model, cfg, { topk: topk ?? [1, 5], log: (m) => logger.info(m), source: o.sourceOf('evaluation'), val });
    closers.push(ev.close);
    evaluate = ev.evaluate;
    if (cfg.evaluation) runner.registerHook(new EvalHook({ ...hookArgs, by_epoch: runner.byEpoch }, ev.evaluate), 'LOW');
  }
  if (process.stdout.isTTY && dist.rank === 0 && !o.dryRun) new ProgressLine(runner).attach();
  return { runner, loaders: workflow.map(([m]) => (m === 'val' ? valLoader! : loader)), closers, evaluate, featureCache: fast?.note };
}
