import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class SweepCollect extends SslCommand {
  static override description =
    'Gather the results of a sweep submitted with --no-wait (or whose driver was stopped): waits for its Slurm or Kubernetes jobs (creating the Kubernetes stages that follow a finished one), collects metrics, writes the reports and exits as ssl sweep would (0, 1 regression, 3 failed)';

  static override examples = ['<%= config.bin %> <%= command.id %> work_dirs/sweeps/synthetic-smoke'];

  static override args = {
    dir: Args.string({ description: 'The sweep\'s output folder (it holds sweep.json)', required: true }),
  };

  static override flags = {
    baseline: Flags.string({ description: 'Baseline file to gate against instead of the one the sweep was started with' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SweepCollect);
    const { readPlan } = await import('../../sweep/status.js');
    const { runSweep } = await import('../../sweep/driver.js');
    const { trainFlagNames } = await import('../../sweep/train-flags.js');
    const plan = readPlan(args.dir);
    const code = await runSweep({
      file: plan.file,
      out: args.dir,
      cfgOptions: plan.cfgOptions,
      baseline: flags.baseline ?? plan.baseline,
      updateBaseline: plan.updateBaseline,
      collectOnly: true,
      trainFlags: await trainFlagNames(),
      stdout: process.stdout,
      stderr: process.stderr,
    });
    if (code !== 0) this.exit(code);
  }
}
