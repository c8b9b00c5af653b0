import { Args, Flags } from '@oclif/core';
import { displayPath } from '../../config/index.js';
import { convertPythonConfig } from '../../config/python/convert.js';
import { SslCommand } from '../../cli/ssl-command.js';

export default class ConfigConvert extends SslCommand {
  static override summary = 'Write an MMSelfSup Python config as native YAML that resolves to the same config';

  static override description =
    'Keeps _base_ and {{_base_.x}} references: each .py base is converted too, placed where the _base_ path points relative to the output (beside the .py base when converting in place). --flatten writes the resolved config as one file instead.';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py',
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.py -o simclr.yaml --flatten',
  ];

  static override args = {
    config: Args.string({ description: 'Python config file (.py)', required: true }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'Output YAML file (default: the input path with .yaml)' }),
    flatten: Flags.boolean({ description: 'Write the fully resolved config as one self-contained file (no _base_)', default: false }),
    force: Flags.boolean({ description: 'Overwrite output files that ssl config convert did not write', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConfigConvert);
    const { written } = convertPythonConfig(args.config, { out: flags.out, flatten: flags.flatten, force: flags.force });
    for (const file of written) this.log(`wrote ${displayPath(file)}`);
  }
}
