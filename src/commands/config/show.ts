import { Args, Flags } from '@oclif/core';
import { describeConfigName, dumpConfig, loadConfig } from '../../config/index.js';
import { pythonImportWarnings } from '../../config/python/index.js';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ConfigShow extends SslCommand {
  static override description = 'Print the fully resolved config (_base_ chain, references and --cfg-options applied)';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml',
    '<%= config.bin %> <%= command.id %> CONFIG --cfg-options optimizer.lr=0.1 data.samples_per_gpu=64 --format json',
  ];

  static override args = {
    config: Args.string({ description: 'Config file (.yaml, .yml, .json, .py)', required: true }),
  };

  static override flags = {
    'cfg-options': Flags.string({
      description: 'Override settings: key=value, dotted keys, numeric parts index lists (repeatable)',
      multiple: true,
    }),
    format: Flags.string({ description: 'Output format', options: ['yaml', 'json'], default: 'yaml' }),
    info: Flags.boolean({ description: 'Also print what the file name says (naming convention) and the default work dir', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConfigShow);
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] });
    // custom_imports naming Python modules (mmcls.models) cannot load here: say which types that affects (python-config).
    for (const warning of pythonImportWarnings(cfg)) this.logToStderr(`Warning: ${warning}`);
    if (flags.info) {
      for (const line of describeConfigName(args.config)) this.log(`# ${line}`);
    }
    process.stdout.write(dumpConfig(cfg, flags.format as 'yaml' | 'json'));
  }
}
