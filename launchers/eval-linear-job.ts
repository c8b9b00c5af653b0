import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigDict } from '../src/config/index.js';
import { defaultWorkDir, loadConfig } from '../src/config/index.js';
import { SslError } from '../src/errors.js';
import { evalResultPath } from '../src/eval/result.js';
import { prepareTrainJob, type PreparedTrainJob, type TrainRequest } from './train-job.js';

/** What `ssl eval linear` was asked: `ssl train`'s request plus the weights to evaluate. */
export interface LinearEvalRequest extends Omit<TrainRequest, 'extraWorkerArgs'> {
  /** The weights to evaluate (an ssl checkpoint, a published model, an extracted backbone; local or s3://). */
  checkpoint: string;
  /** false: `--no-cache`, always end to end. */
  cache?: boolean;
  /** Where cached features live (default `WORK_DIR/eval/feature-cache`). */
  cacheDir?: string;
  /** The result's name (default `linear`): `WORK_DIR/eval/<name>.json`, the run itself in `WORK_DIR/eval/<name>/`. */
  name?: string;
}

export interface PreparedLinearEval extends PreparedTrainJob {
  /** `WORK_DIR/eval/<name>.json`. */
  resultPath: string;
}

/**
 * MMSelfSup's `tools/benchmarks/classification/dist_train_linear.sh`: trains the benchmark config with
 * `model.backbone.init_cfg = dict(type='Pretrained', checkpoint=CKPT)`, as a training job of any launcher.
 * The run (logs, checkpoints) goes to `WORK_DIR/eval/<name>/` so a pre-training's work dir can hold its
 * evaluations; the worker writes the result to `WORK_DIR/eval/<name>.json`.
 */
export function prepareLinearEval(req: LinearEvalRequest): PreparedLinearEval {
  const isRemote = /^s3:\/\//.test(req.checkpoint);
  if (!isRemote && !existsSync(req.checkpoint)) throw new SslError(`--checkpoint ${req.checkpoint} does not exist`, { code: 'NO_CHECKPOINT' });
  const checkpoint = isRemote ? req.checkpoint : resolve(req.checkpoint);
  const name = req.name ?? 'linear';
  let root = req.workDir;
  if (!root) {
    const cfg = loadConfig(req.config, { cfgOptions: req.cfgOptions ?? [] }) as ConfigDict;
    root = typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(req.config);
  }
  root = resolve(root);
  const resultPath = evalResultPath(root, name);
  const extra = ['--eval-result', resultPath];
  if (req.cache !== false) extra.push('--feature-cache', resolve(req.cacheDir ?? join(root, 'eval', 'feature-cache')));
  const withWeights = (cfg: ConfigDict): ConfigDict => {
    const model = { ...((cfg.model ?? {}) as ConfigDict) };
    model.backbone = { ...((model.backbone ?? {}) as ConfigDict), init_cfg: { type: 'Pretrained', checkpoint } };
    const out = { ...cfg, model };
    return req.transform ? req.transform(out) : out;
  };
  const prepared = prepareTrainJob({ ...req, workDir: join(root, 'eval', name), transform: withWeights, extraWorkerArgs: extra });
  // a result left by an earlier run must not pass for this one's
  if (req.write !== false) rmSync(resultPath, { force: true });
  return { ...prepared, resultPath };
}
