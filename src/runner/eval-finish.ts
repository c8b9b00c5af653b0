import { basename, extname } from 'node:path';
import { fileSha256, writeEvalResult } from '../eval/result.js';
import type { BaseRunner } from './base-runner.js';
import { EvalHook } from './hooks/eval-hook.js';
import type { TrainingSetup } from './setup.js';
import type { WorkerArgs } from './worker-args.js';

type Cfg = Record<string, unknown>;

/** The weights a benchmark config evaluates: `model.backbone.init_cfg` (Pretrained), `model.init_cfg`, else `load_from`. */
export function evaluatedCheckpoint(cfg: Cfg, loadFrom?: string): string | null {
  const model = (cfg.model ?? {}) as Cfg;
  for (const init of [(model.backbone as Cfg | undefined)?.init_cfg, model.init_cfg]) {
    for (const c of ([] as unknown[]).concat(init ?? []) as Cfg[]) if (c?.type === 'Pretrained' && typeof c.checkpoint === 'string') return c.checkpoint;
  }
  return loadFrom ?? ((typeof cfg.load_from === 'string' && cfg.load_from) || null);
}

/**
 * After a benchmark's training (rank 0): evaluates once more unless the evaluation hook just did after the
 * last epoch/iteration, logs the metrics, and writes the result JSON to `--eval-result` (`ssl eval linear`: `WORK_DIR/eval/linear.json`). The headline metric is
 * the top-1 of the last head (`head4_top1` for ResNet's last stage). Returns the file's path.
 */
export async function finishEvaluation(o: { runner: BaseRunner; setup: TrainingSetup; cfg: Cfg; args: WorkerArgs; workDir: string; startedAt: number }): Promise<string> {
  const { runner, setup, cfg, args } = o;
  const hook = runner.hooks.find((h): h is EvalHook => h instanceof EvalHook);
  const done = runner.byEpoch ? runner.epoch : runner.iter;
  let results = hook?.last && hook.last.progress === done ? hook.last.results : undefined;
  if (!results) {
    if (!setup.evaluate) throw new Error('no evaluator was built for the eval result');
    results = (await setup.evaluate()).results;
    runner.logger.info(`final evaluation: ${Object.entries(results).map(([k, v]) => `${k}: ${v.toFixed(3)}`).join(', ')}`);
  }
  const top1 = Object.keys(results).filter((k) => k.endsWith('_top1'));
  const metric = top1.at(-1) ?? Object.keys(results)[0];
  const checkpoint = evaluatedCheckpoint(cfg, args.loadFrom);
  const config = typeof cfg.filename === 'string' ? cfg.filename : args.config;
  const path = writeEvalResult(args.evalResult!, {
    name: basename(args.evalResult!, '.json'),
    metric,
    value: results[metric],
    results,
    config,
    checkpoint,
    checkpoint_sha256: await fileSha256(checkpoint),
    wall_seconds: (performance.now() - o.startedAt) / 1000,
    world_size: runner.worldSize,
    created: new Date().toISOString(),
    experiment: basename(config, extname(config)),
    epochs: runner.epoch,
    iters: runner.iter,
    feature_cache: setup.featureCache ?? 'off',
  });
  runner.logger.info(`eval result: ${metric} ${results[metric].toFixed(2)} written to ${path}`);
  return path;
}
