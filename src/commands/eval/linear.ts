import { Args, Flags } from '@oclif/core';
import { jobRequestFromFlags } from '../../cli/launch-flags.js';
import { SslCommand } from '../../cli/ssl-command.js';
import Train from '../train.js';

const { 'load-from': _loadFrom, 'auto-resume': _autoResume, ...trainFlags } = Train.flags;

export default class EvalLinear extends SslCommand {
  static override description =
    "Linear classification benchmark (MMSelfSup's dist_train_linear.sh / slurm_train_linear.sh): trains a benchmark config (Classification, frozen backbone, ClsHead or MultiClsHead) " +
    'with model.backbone.init_cfg = Pretrained(--checkpoint), here or on any launcher, logging top-1/top-5 per head; writes WORK_DIR/eval/<name>.json. ' +
    'With a frozen backbone and a train pipeline that does not change per epoch, the pooled features are extracted once, cached on disk and the head trains on them (--no-cache: end to end)';

  static override examples = [
    '<%= config.bin %> <%= command.id %> ../shared/data/mmselfsup-configs/benchmarks/classification/imagenet/resnet50_linear-8xb32-steplr-100e_in1k.py --checkpoint work_dirs/simclr/latest.ckpt',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint backbone.ckpt --work-dir work_dirs/simclr --launcher local --gpus 2',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint s3://bucket/run/latest.ckpt --launcher slurm --partition gpu --nodes 1 --gpus-per-node 8 --s3 s3://bucket/run/linear',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --no-cache   # always end to end',
  ];

  static override args = {
    config: Args.string({ description: 'Benchmark config (.py unchanged from MMSelfSup, .yaml, .json)', required: true }),
  };

  static override flags = {
    ...trainFlags,
    checkpoint: Flags.string({ description: 'Weights to evaluate: an ssl checkpoint, a published model or an extracted backbone (local or s3://)', required: true }),
    'work-dir': Flags.string({ description: 'Where the result goes (WORK_DIR/eval/<name>.json; the run in WORK_DIR/eval/<name>/). Default: from the config, then work_dirs/<config path>' }),
    name: Flags.string({ description: 'Result name (default linear)', default: 'linear' }),
    cache: Flags.boolean({ description: 'Cache the frozen backbone\'s pooled features and train the head on them when the config allows it (--no-cache: end to end)', default: true, allowNo: true }),
    'cache-dir': Flags.string({ description: 'Feature cache directory (default WORK_DIR/eval/feature-cache)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(EvalLinear);
    const { prepareLinearEval } = await import('../../../launchers/eval-linear-job.js');
    const buildCheck = flags['dry-run'] && (flags.launcher === 'none' || flags.launcher === 'local');
    const prepared = prepareLinearEval({
      config: args.config,
      checkpoint: flags.checkpoint,
      cache: flags.cache,
      cacheDir: flags['cache-dir'],
      name: flags.name,
      ...jobRequestFromFlags(flags),
      write: !buildCheck,
    });
    if (buildCheck) {
      const { dryRunTraining } = await import('../../runner/dry-run.js');
      const { parseWorkerArgs } = await import('../../runner/worker-args.js');
      await dryRunTraining({ cfg: prepared.cfg, sourceOf: prepared.sourceOf, args: parseWorkerArgs(prepared.workerArgv) });
    }
    let code: number;
    if (flags.launcher === 'none') {
      if (flags['dry-run']) {
        this.log(`# ssl eval linear --launcher none: would run in this process\nssl-worker ${prepared.workerArgv.join(' ')}`);
        return;
      }
      const { runWorker } = await import('../../runner/worker-main.js');
      code = await runWorker(prepared.workerArgv);
    } else {
      const { submitTraining } = await import('../../../launchers/run-training.js');
      code = await submitTraining(prepared, flags);
    }
    if (code !== 0) this.exit(code);
    const { existsSync, readFileSync } = await import('node:fs');
    if (existsSync(prepared.resultPath) && !flags['dry-run']) {
      const r = JSON.parse(readFileSync(prepared.resultPath, 'utf8')) as { metric: string; value: number; wall_seconds: number };
      this.log(`${r.metric}: ${r.value.toFixed(2)} (${r.wall_seconds.toFixed(1)} s) -> ${prepared.resultPath}`);
    } else if (!flags['dry-run']) this.log(`the result will be written to ${prepared.resultPath}`);
  }
}
