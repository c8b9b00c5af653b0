import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class DataCheck extends SslCommand {
  static override description = 'Load a few batches of data.train: print shapes, value ranges and images/s, and write a PNG grid of augmented views into the work dir';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml',
    '<%= config.bin %> <%= command.id %> CONFIG --num-batches 10 --workers 2 --work-dir /tmp/check',
  ];

  static override args = {
    config: Args.string({ description: 'Config file (.yaml, .yml, .json, .py)', required: true }),
  };

  static override flags = {
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    'work-dir': Flags.string({ description: 'Where data_check.png goes (default: the config work_dir, else work_dirs/<config name>)' }),
    'num-batches': Flags.integer({ description: 'Batches to load', default: 3, min: 1 }),
    workers: Flags.integer({ description: 'Override data.workers_per_gpu', min: 0 }),
    seed: Flags.integer({ description: 'Random seed', default: 0 }),
    json: Flags.boolean({ description: 'Print the report as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DataCheck);
    const { loadConfig, defaultWorkDir } = await import('../../config/index.js');
    const { checkData, formatCheckReport } = await import('../../data/check.js');
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as unknown as Record<string, unknown>;
    const workDir = flags['work-dir'] ?? (typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(args.config));
    const report = await checkData(cfg, {
      workDir,
      numBatches: flags['num-batches'],
      workers: flags.workers,
      seed: flags.seed,
      log: (m) => this.logToStderr(`Warning: ${m}`),
    });
    if (flags.json) this.log(JSON.stringify(report, null, 2));
    else for (const line of formatCheckReport(report)) this.log(line);
  }
}
