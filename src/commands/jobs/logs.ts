import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class JobsLogs extends SslCommand {
  static override description = "Print a launched job's log (one rank; rank 0 by default), optionally following it to the end";

  static override examples = ['<%= config.bin %> <%= command.id %> 1234', '<%= config.bin %> <%= command.id %> 1234 --rank 1', '<%= config.bin %> <%= command.id %> 1234 --follow'];

  static override args = { id: Args.string({ description: 'Job id as printed by ssl train', required: true }) };

  static override flags = {
    launcher: Flags.string({ description: 'Where the job runs (default: slurm for a numeric id, k8s otherwise)', options: ['slurm', 'k8s'] }),
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new output until the job ends', default: false }),
    rank: Flags.integer({ description: 'Which rank (worker process) to show', default: 0, min: 0 }),
    namespace: Flags.string({ description: 'Kubernetes: namespace (default: the kubeconfig context\'s)' }),
    context: Flags.string({ description: 'Kubernetes: kubeconfig context' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(JobsLogs);
    const { launcherForJob } = await import('../../../launchers/slurm/job-launcher.js');
    const launcher = await launcherForJob(args.id, flags);
    await launcher.logs(args.id, process.stdout, { follow: flags.follow, rank: flags.rank });
  }
}
