import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class SweepStatus extends SslCommand {
  static override description = 'Per-trial state of a sweep (done, failed, running with its Slurm or Kubernetes jobs\' states (the cluster from KUBECONFIG), waiting), from its output folder';

  static override examples = ['<%= config.bin %> <%= command.id %> work_dirs/sweeps/synthetic-smoke', '<%= config.bin %> <%= command.id %> DIR --json'];

  static override args = {
    dir: Args.string({ description: 'The sweep\'s output folder (it holds sweep.json)', required: true }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'Print the states as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(SweepStatus);
    const { sweepStatus, renderStatus } = await import('../../sweep/status.js');
    const rows = await sweepStatus(args.dir);
    this.log(flags.json ? JSON.stringify(rows, null, 2) : renderStatus(rows));
  }
}
