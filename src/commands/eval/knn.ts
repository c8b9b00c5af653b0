import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class EvalKnn extends SslCommand {
  static override description =
    'Weighted kNN accuracy of backbone features (global average pool, L2-normalised; bank = train split, queries = val split). Without --checkpoint: the random-init baseline';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml --checkpoint work_dirs/simclr/latest.ckpt --k 200 --temperature 0.1',
    '<%= config.bin %> <%= command.id %> CONFIG   # random initialisation',
  ];

  static override args = {
    config: Args.string({ description: 'Config with the model and labelled data (knn.train/knn.val, or data.train\'s source)', required: true }),
  };

  static override flags = {
    checkpoint: Flags.string({ description: 'Checkpoint (.ckpt) to evaluate; omit for random initialisation' }),
    k: Flags.integer({ description: 'Neighbours (default: knn.k in the config, else 20)' }),
    temperature: Flags.string({ description: 'Softmax temperature of the votes (default: knn.temperature, else 0.07)' }),
    backend: Flags.string({ description: 'TensorFlow.js backend', options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'], env: 'SSL_BACKEND' }),
    seed: Flags.integer({ description: 'Seed of the random initialisation (default: seed in the config, else 0)' }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    json: Flags.boolean({ description: 'Print the result as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(EvalKnn);
    const { loadConfig } = await import('../../config/index.js');
    const { evaluateKnn } = await import('../../eval/knn.js');
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    // components the config names may come from its custom_imports
    const { importCustomModules } = await import('../../runner/registries.js');
    const { dirname, resolve } = await import('node:path');
    for (const w of (await importCustomModules(cfg.custom_imports, dirname(resolve(args.config)))).warnings) this.logToStderr(`Warning: ${w}`);
    const temperature = flags.temperature === undefined ? undefined : Number(flags.temperature);
    const r = await evaluateKnn(cfg, {
      checkpoint: flags.checkpoint, k: flags.k, temperature, backend: flags.backend, seed: flags.seed,
      log: (m) => this.logToStderr(m),
    });
    if (flags.json) this.log(JSON.stringify(r));
    else this.log(`kNN (k=${r.k}, T=${r.temperature}): top-1 ${r.top1.toFixed(2)}, top-5 ${r.top5.toFixed(2)} (${r.numVal} queries, ${r.numTrain} in the bank, ${r.seconds.toFixed(1)} s)`);
  }
}
