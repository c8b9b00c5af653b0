import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class Sweep extends SslCommand {
  static override description =
    'Run a benchmark sweep: a grid of pre-train -> evaluate trials (configs x matrix) on any launcher, with results, summary.md/png, junit.xml, bench.json and a regression gate (exit 0 ok, 1 regression, 3 a trial failed, 2 bad input). Rerunning resumes';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/sweeps/synthetic-smoke.yaml',
    '<%= config.bin %> <%= command.id %> configs/sweeps/synthetic-smoke.yaml --dry-run',
    '<%= config.bin %> <%= command.id %> configs/sweeps/fmnist.yaml --out sweeps/nightly --baseline benchmarks/baselines/fmnist.json',
    '<%= config.bin %> <%= command.id %> configs/sweeps/fmnist.yaml --update-baseline --baseline benchmarks/baselines/fmnist.json',
    '<%= config.bin %> <%= command.id %> SWEEP.yaml --cfg-options launcher=slurm launcher_options.partition=debug --no-wait',
    '<%= config.bin %> <%= command.id %> SWEEP.yaml --cfg-options launcher=slurm --slurm-array --array-throttle 4 --no-wait',
    '<%= config.bin %> <%= command.id %> SWEEP.yaml --cfg-options launcher=k8s launcher_options.s3=s3://sweeps/nightly launcher_options.image=registry.example/ssl:1 --no-wait',
  ];

  static override args = {
    sweep: Args.string({ description: 'Sweep file (YAML/JSON, resolved like a config: _base_, --cfg-options)', required: true }),
  };

  static override flags = {
    out: Flags.string({ description: 'Output folder (default: work_dirs/sweeps/<name>); rerunning with the same folder resumes' }),
    'dry-run': Flags.boolean({ description: 'Print every trial and the exact request of each stage (commands, sbatch scripts, Kubernetes manifests); run nothing', default: false }),
    baseline: Flags.string({ description: 'Baseline file to gate against (overrides the sweep\'s baseline:); with --update-baseline, where to write it' }),
    'update-baseline': Flags.boolean({ description: 'Record the results as the baseline (each trial run once per seed in seeds:, mean and std kept)', default: false }),
    'retry-failed': Flags.boolean({ description: 'Run trials that failed or timed out before again (otherwise they are reported as they were)', default: false }),
    'slurm-array': Flags.boolean({ description: 'Slurm: submit each stage as one job array over the trials (sbatch --array; a stage waits on the previous one task by task, --dependency=aftercorr); trials must be one task each', default: false }),
    'array-throttle': Flags.integer({ description: "With --slurm-array: at most N tasks of a stage run at once (sbatch --array=...%N; default the sweep's max_parallel)", min: 1 }),
    'no-wait': Flags.boolean({ description: 'Slurm, Kubernetes: exit after submitting; gather later with ssl sweep collect DIR (on Kubernetes it also starts the stages after train)', default: false }),
    'cfg-options': Flags.string({ description: 'Override sweep-file settings: key=value, dotted keys (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Sweep);
    const { runSweep } = await import('../../sweep/driver.js');
    const { trainFlagNames } = await import('../../sweep/train-flags.js');
    const { stopAllStages } = await import('../../sweep/run-command.js');
    // finished trials are on disk already; running stages are stopped, and a rerun starts them again
    const stop = (signal: NodeJS.Signals) => {
      this.logToStderr(`ssl sweep: ${signal}: stopping the running stages (a rerun resumes)`);
      void stopAllStages().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const code = await runSweep({
      file: args.sweep,
      out: flags.out,
      cfgOptions: flags['cfg-options'],
      dryRun: flags['dry-run'],
      baseline: flags.baseline,
      updateBaseline: flags['update-baseline'],
      retryFailed: flags['retry-failed'],
      noWait: flags['no-wait'],
      slurmArray: flags['slurm-array'],
      arrayThrottle: flags['array-throttle'],
      trainFlags: await trainFlagNames(),
      stdout: process.stdout,
      stderr: process.stderr,
    });
    if (code !== 0) this.exit(code);
  }
}
