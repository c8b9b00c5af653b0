import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class LogsPlot extends SslCommand {
  static override description =
    "Plot logged values (loss, lr, knn_top1, ...) of one or more runs from their JSON logs (`ssl train`'s or MMSelfSup's *.log.json) into one PNG: runs overlaid, one panel per key (MMSelfSup's analyze_logs.py plot_curve)";

  static override examples = [
    '<%= config.bin %> <%= command.id %> work_dirs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist --keys loss lr -o simclr.png',
    '<%= config.bin %> <%= command.id %> work_dirs/simclr work_dirs/byol --legend simclr byol --x-axis epoch',
    '<%= config.bin %> <%= command.id %> 20221020_120000.log.json --keys knn_top1 --title "kNN top-1"',
  ];

  static override strict = false;

  static override args = {
    logs: Args.string({ description: 'Work dirs (their newest <timestamp>.log.json) or JSON log files', required: true }),
  };

  static override flags = {
    keys: Flags.string({ description: 'Logged values to plot, one panel each', multiple: true, default: ['loss'] }),
    legend: Flags.string({ description: 'Labels: one per log, or one per log and key (default: the work dir names)', multiple: true }),
    title: Flags.string({ description: 'Title of the figure' }),
    'x-axis': Flags.string({ description: 'Training iterations, or epochs', options: ['iter', 'epoch'], default: 'iter' }),
    out: Flags.string({ char: 'o', description: 'PNG to write', default: 'curve.png' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LogsPlot);
    const { plotCurves } = await import('../../analysis/logs/plot-curve.js');
    const r = await plotCurves(argv as string[], {
      keys: flags.keys,
      legend: flags.legend,
      title: flags.title,
      xAxis: flags['x-axis'] as 'iter' | 'epoch',
      out: flags.out,
      log: (m) => this.logToStderr(`Warning: ${m}`),
    });
    for (const s of r.series) this.log(`plot curve of ${s.label}, metric is ${s.key} (${s.points} points)`);
    this.log(`save curve to: ${r.out}`);
  }
}
