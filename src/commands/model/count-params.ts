import { Args, Flags } from '@oclif/core';
import { loadConfig } from '../../config/index.js';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ModelCountParams extends SslCommand {
  static override description = 'Count the parameters of a config\'s model per part (backbone, neck, head) and in total';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml',
    '<%= config.bin %> <%= command.id %> CONFIG --cfg-options model.backbone.depth=18 --json',
  ];

  static override args = {
    config: Args.string({ description: 'Config file (.yaml, .yml, .json, .py)', required: true }),
  };

  static override flags = {
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    json: Flags.boolean({ description: 'Print the counts as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModelCountParams);
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    const { initBackend } = await import('../../engine/backend.js');
    await initBackend('cpu', { log: () => {} });
    // components the config names may come from its custom_imports
    const { importCustomModules } = await import('../../runner/registries.js');
    const { dirname, resolve } = await import('node:path');
    for (const w of (await importCustomModules(cfg.custom_imports, dirname(resolve(args.config)))).warnings) this.logToStderr(`Warning: ${w}`);
    const { countModelParameters, formatModelCount } = await import('../../models/backbones/count.js');
    const models = await import('../../models/index.js');
    const counts = countModelParameters(cfg.model as Record<string, unknown>, {
      buildModel: (c) => models.buildModel(c, args.config),
      necks: models.NECKS,
      heads: models.HEADS,
    });
    if (flags.json) this.log(JSON.stringify(counts, null, 2));
    else for (const line of formatModelCount(counts)) this.log(line);
  }
}
