import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class VizMae extends SslCommand {
  static override description =
    "MAE reconstruction of one image (MMSelfSup's tools/misc/mae_visualization.py): original, masked, reconstruction and reconstruction with the visible patches pasted, side by side in one PNG, de-normalised with the config's img_norm_cfg (ImageNet's when absent)";

  static override examples = [
    '<%= config.bin %> <%= command.id %> ../shared/data/mmselfsup-configs/selfsup/mae/mae_vit-base-p16_8xb512-coslr-400e_in1k.py --checkpoint work_dirs/mae/latest.ckpt --image cat.jpg -o mae_cat.png',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --image IMG -o out.png --seed 3   # another random mask',
  ];

  static override args = {
    config: Args.string({ description: 'Config with an MAE model', required: true }),
  };

  static override flags = {
    checkpoint: Flags.string({ description: 'MAE weights (any file ssl writes); omit for random initialisation' }),
    image: Flags.string({ description: 'Image file (resized to the encoder img_size)', required: true }),
    out: Flags.string({ char: 'o', description: 'Output PNG', required: true }),
    seed: Flags.integer({ description: 'Seed of the random mask', default: 0 }),
    backend: Flags.string({ description: 'TensorFlow.js backend', options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'], env: 'SSL_BACKEND' }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VizMae);
    const { loadConfig } = await import('../../config/index.js');
    const { visualizeMae } = await import('../../viz/mae-reconstruction.js');
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    const r = await visualizeMae(cfg, { checkpoint: flags.checkpoint, image: flags.image, out: flags.out, seed: flags.seed, backend: flags.backend, log: (m) => this.logToStderr(m) });
    this.log(`wrote ${r.path} (4 panels of ${r.size}², ${r.maskedPatches} patches masked)`);
  }
}
