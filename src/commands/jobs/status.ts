import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class JobsStatus extends SslCommand {
  static override description =
    'Show the state of a launched training job (Slurm: squeue/scontrol/sacct; Kubernetes: the job object and its pods; a failed job: which pod failed, its exit code and reason, and its last log lines)';

  static override examples = ['<%= config.bin %> <%= command.id %> 1234', '<%= config.bin %> <%= command.id %> 1234 --wait', '<%= config.bin %> <%= command.id %> simclr-r18-x7k2 --launcher k8s'];

  static override args = { id: Args.string({ description: 'Job id as printed by ssl train', required: true }) };

  static override flags = {
    launcher: Flags.string({ description: 'Where the job runs (default: slurm for a numeric id, k8s otherwise)', options: ['slurm', 'k8s'] }),
    wait: Flags.boolean({ description: 'Wait for the job to end and exit with its exit code', default: false }),
    json: Flags.boolean({ description: 'Print the status as JSON', default: false }),
    namespace: Flags.string({ description: 'Kubernetes: namespace (default: the kubeconfig context\'s)' }),
    context: Flags.string({ description: 'Kubernetes: kubeconfig context' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(JobsStatus);
    const { launcherForJob } = await import('../../../launchers/slurm/job-launcher.js');
    const launcher = await launcherForJob(args.id, flags);
    const st = flags.wait ? await launcher.wait(args.id) : await launcher.status(args.id);
    if (flags.json) this.log(JSON.stringify({ launcher: launcher.name, ...st }));
    else {
      this.log(`${launcher.name} job ${st.id}: ${st.state}${st.exitCode !== undefined ? ` (exit code ${st.exitCode})` : ''}${st.message ? ` - ${st.message}` : ''}`);
      if (st.logTail?.lines.length) {
        const { formatLogTail } = await import('../../../launchers/log-tail.js');
        this.log(formatLogTail(st.logTail).replace(/\n$/, ''));
      }
    }
    if (flags.wait && st.state !== 'SUCCEEDED') this.exit(st.exitCode || 1);
  }
}
