import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class JobsCancel extends SslCommand {
  static override description = 'Cancel a launched training job (Slurm: scancel; Kubernetes: delete the job)';

  static override examples = ['<%= config.bin %> <%= command.id %> 1234'];

  static override args = { id: Args.string({ description: 'Job id as printed by ssl train', required: true }) };

  static override flags = {
    launcher: Flags.string({ description: 'Where the job runs (default: slurm for a numeric id, k8s otherwise)', options: ['slurm', 'k8s'] }),
    namespace: Flags.string({ description: 'Kubernetes: namespace (default: the kubeconfig context\'s)' }),
    context: Flags.string({ description: 'Kubernetes: kubeconfig context' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(JobsCancel);
    const { launcherForJob } = await import('../../../launchers/slurm/job-launcher.js');
    const launcher = await launcherForJob(args.id, flags);
    await launcher.cancel(args.id);
    this.log(`Cancelled ${launcher.name} job ${args.id}`);
  }
}
