import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class LogsTime extends SslCommand {
  static override description =
    "Training speed from JSON logs: slowest and fastest epoch, std over epochs, average iteration time (MMSelfSup's analyze_logs.py cal_train_time; each epoch's first logged time is left out unless --include-outliers)";

  static override examples = [
    '<%= config.bin %> <%= command.id %> work_dirs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist',
    '<%= config.bin %> <%= command.id %> 20221020_120000.log.json --include-outliers --json',
  ];

  static override strict = false;

  static override args = {
    logs: Args.string({ description: 'Work dirs (their newest <timestamp>.log.json) or JSON log files', required: true }),
  };

  static override flags = {
    'include-outliers': Flags.boolean({ description: "Count each epoch's first iteration time too", default: false }),
    json: Flags.boolean({ description: 'Print the results as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(LogsTime);
    const { calTrainTime, formatTrainTime } = await import('../../analysis/logs/train-time.js');
    const results = (argv as string[]).map((p) => calTrainTime(p, flags['include-outliers']));
    for (const r of results) if (r.skippedLines > 0) this.logToStderr(`Warning: ${r.path}: skipped ${r.skippedLines} line(s) that are not complete JSON`);
    if (flags.json) this.log(JSON.stringify(results, null, 2));
    else this.log(results.map(formatTrainTime).join('\n\n'));
  }
}
