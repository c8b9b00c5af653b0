import type { LaunchFlags } from '../../launchers/run-training.js';
import type { EvalResult } from '../eval/result.js';
import type { EvalWorkerOptions } from '../runner/worker-args.js';
import Train from '../commands/train.js';
import { jobRequestFromFlags, type LaunchFlagValues } from './launch-flags.js';

// training's launch flags without the ones that only mean something to a training run
const {
  'resume-from': _r, 'auto-resume': _a, 'auto-resume-fresh-ok': _af, 'load-from': _l, 'auto-scale-lr': _s, requeue: _q, deterministic: _d, precision: _p,
  ...launchFlags
} = Train.flags;

/** The launch flags `ssl eval knn` and `ssl eval svm` share with `ssl train` (--launcher, --nodes, --gpus, --work-dir, --s3, --dry-run, --wait, ...). */
export const evalLaunchFlags = launchFlags;

/**
 * `ssl eval knn|svm --launcher local|slurm|k8s` (or `none --dry-run`): prepares the evaluation job, submits it
 * (or prints it), and resolves to the job's exit code and, when it ran to the end here, its result.
 */
export async function launchFeatureEval(
  config: string, ev: EvalWorkerOptions, flags: LaunchFlagValues & LaunchFlags & { 'work-dir'?: string },
  log: (m: string) => void,
): Promise<{ code: number; result?: EvalResult; resultPath: string }> {
  const { prepareFeatureEval } = await import('../../launchers/eval-features-job.js');
  // a dry run here writes nothing; Slurm's and Kubernetes' show the files their submission reads (as `ssl train`'s)
  const dry = Boolean(flags['dry-run']);
  const prepared = prepareFeatureEval({ config, eval: ev, ...jobRequestFromFlags(flags), write: !(dry && (flags.launcher === 'none' || flags.launcher === 'local')) });
  const { existsSync, readFileSync, rmSync } = await import('node:fs');
  // a result left by an earlier run must not pass for this one's
  if (!dry) rmSync(prepared.resultPath, { force: true });
  if (flags.launcher === 'none') {
    log(`# ssl eval ${ev.kind} --launcher none: would run in this process\nssl-worker ${prepared.workerArgv.join(' ')}`);
    return { code: 0, resultPath: prepared.resultPath };
  }
  const { submitTraining } = await import('../../launchers/run-training.js');
  const code = await submitTraining(prepared, flags);
  const result = code === 0 && !flags['dry-run'] && existsSync(prepared.resultPath) ? (JSON.parse(readFileSync(prepared.resultPath, 'utf8')) as EvalResult) : undefined;
  return { code, result, resultPath: prepared.resultPath };
}
