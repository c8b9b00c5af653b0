import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigDict } from '../src/config/index.js';
import { defaultWorkDir, loadConfig } from '../src/config/index.js';
import { SslError } from '../src/errors.js';
import { evalResultPath } from '../src/eval/result.js';
import type { EvalWorkerOptions } from '../src/runner/worker-args.js';
import { prepareTrainJob, type PreparedTrainJob, type TrainRequest } from './train-job.js';

/** What `ssl eval knn|svm` was asked on a launcher: the job's request plus the evaluation's options. */
export interface FeatureEvalRequest extends Omit<TrainRequest, 'extraWorkerArgs' | 'resumeFrom' | 'autoResume' | 'loadFrom'> {
  eval: EvalWorkerOptions;
}

export interface PreparedFeatureEval extends PreparedTrainJob {
  /** `WORK_DIR/eval/<name>.json` (knn, svm, svm-lowshot). */
  resultPath: string;
}

/** The worker arguments of the evaluation mode (parsed back by `parseWorkerArgs`). */
export function evalWorkerArgs(e: EvalWorkerOptions, resultPath: string, checkpoint?: string): string[] {
  const a = ['--eval', e.kind, '--eval-result', resultPath];
  if (checkpoint) a.push('--checkpoint', checkpoint);
  if (e.k !== undefined) a.push('--k', String(e.k));
  if (e.temperature !== undefined) a.push('--temperature', String(e.temperature));
  if (e.features !== undefined) a.push('--features', e.features);
  if (e.lowShot) a.push('--low-shot');
  if (e.costs !== undefined) a.push('--costs', e.costs.join(','));
  if (e.voc !== undefined) a.push('--voc', resolve(e.voc));
  if (e.trainLimit !== undefined) a.push('--train-limit', String(e.trainLimit));
  if (e.saveFeatures) a.push('--save-features');
  return a;
}

/**
 * MMSelfSup's `tools/benchmarks/classification/knn_imagenet/dist_test_knn.sh` and `svm_voc07/dist_test_svm.sh`:
 * a job of any launcher whose workers run in evaluation mode (`ssl-worker --eval knn|svm`): each rank extracts
 * the features of its share, rank 0 evaluates and writes `WORK_DIR/eval/<name>.json`. The job's own files (the
 * resolved config) go to `WORK_DIR/eval/<name>/`.
 */
export function prepareFeatureEval(req: FeatureEvalRequest): PreparedFeatureEval {
  const ckpt = req.eval.checkpoint;
  const isRemote = ckpt !== undefined && /^s3:\/\//.test(ckpt);
  if (ckpt !== undefined && !isRemote && !existsSync(ckpt)) throw new SslError(`--checkpoint ${ckpt} does not exist`, { code: 'NO_CHECKPOINT' });
  if (req.eval.voc !== undefined && !existsSync(req.eval.voc)) throw new SslError(`--voc ${req.eval.voc} does not exist; give a VOC tree with JPEGImages and ImageSets/Main`);
  const checkpoint = ckpt === undefined ? undefined : isRemote ? ckpt : resolve(ckpt);
  const name = req.eval.kind === 'svm' && req.eval.lowShot ? 'svm-lowshot' : req.eval.kind;
  let root = req.workDir;
  if (!root) {
    const cfg = loadConfig(req.config, { cfgOptions: req.cfgOptions ?? [] }) as ConfigDict;
    root = typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(req.config);
  }
  root = resolve(root);
  const resultPath = evalResultPath(root, name);
  const prepared = prepareTrainJob({ ...req, workDir: join(root, 'eval', name), extraWorkerArgs: evalWorkerArgs(req.eval, resultPath, checkpoint) });
  return { ...prepared, resultPath };
}
