import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';
import { evalLaunchFlags } from '../../cli/eval-launch.js';

export default class EvalKnn extends SslCommand {
  static override description =
    'Weighted kNN accuracy of backbone features (global average pool, L2-normalised; bank = train split, queries = val split). Without --checkpoint: the random-init baseline. ' +
    "With --launcher local|slurm|k8s (MMSelfSup's dist_test_knn.sh) every rank extracts the features of its share of the images, rank 0 classifies and writes WORK_DIR/eval/knn.json " +
    '(also written by --launcher none when --work-dir is given)';

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml --checkpoint work_dirs/simclr/latest.ckpt --k 200 --temperature 0.1',
    '<%= config.bin %> <%= command.id %> CONFIG   # random initialisation',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint latest.ckpt --launcher local --gpus 2 --work-dir work_dirs/simclr',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint latest.ckpt --launcher slurm --partition gpu --nodes 1 --tasks-per-node 8 --wait',
  ];

  static override args = {
    config: Args.string({ description: 'Config with the model and labelled data (knn.train/knn.val, or data.train\'s source)', required: true }),
  };

  static override flags = {
    ...evalLaunchFlags,
    'work-dir': Flags.string({ description: 'Where WORK_DIR/eval/knn.json goes (the job\'s files in WORK_DIR/eval/knn/); default with a launcher: from the config, then work_dirs/<config path>' }),
    checkpoint: Flags.string({ description: 'Checkpoint (.ckpt, .pth) to evaluate, a local path or s3:// (s3://bucket/run/ ending in "/": the newest checkpoint there); omit for random initialisation' }),
    k: Flags.integer({ description: 'Neighbours (default: knn.k in the config, else 20)' }),
    temperature: Flags.string({ description: 'Softmax temperature of the votes (default: knn.temperature, else 0.07)' }),
    backend: Flags.string({ description: 'TensorFlow.js backend', options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'], env: 'SSL_BACKEND' }),
    seed: Flags.integer({ description: 'Seed of the random initialisation (default: seed in the config, else 0)' }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    json: Flags.boolean({ description: 'Print the result as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(EvalKnn);
    const temperature = flags.temperature === undefined ? undefined : Number(flags.temperature);
    const { ConfigError } = await import('../../errors.js');
    if (temperature !== undefined && !(temperature > 0)) throw new ConfigError(`--temperature must be a positive number, got "${flags.temperature}"`);
    if (flags.k !== undefined && flags.k < 1) throw new ConfigError(`--k must be a positive integer, got ${flags.k}`);
    const print = (r: { k: number; temperature: number; top1: number; top5: number; numVal: number; numTrain: number; seconds: number }) => {
      if (flags.json) this.log(JSON.stringify(r));
      else this.log(`kNN (k=${r.k}, T=${r.temperature}): top-1 ${r.top1.toFixed(2)}, top-5 ${r.top5.toFixed(2)} (${r.numVal} queries, ${r.numTrain} in the bank, ${r.seconds.toFixed(1)} s)`);
    };
    if (flags.launcher !== 'none' || flags['dry-run']) {
      const { launchFeatureEval } = await import('../../cli/eval-launch.js');
      const { code, result, resultPath } = await launchFeatureEval(args.config, { kind: 'knn', checkpoint: flags.checkpoint, k: flags.k, temperature, lowShot: false, saveFeatures: false }, flags, (m) => this.log(m));
      if (code !== 0) this.exit(code);
      if (result) print(result.results as Parameters<typeof print>[0]);
      else if (!flags['dry-run']) this.log(`the result will be written to ${resultPath}`);
      return;
    }
    const { loadConfig } = await import('../../config/index.js');
    const { evaluateKnn } = await import('../../eval/knn.js');
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    // components the config names may come from its custom_imports
    const { importCustomModules } = await import('../../runner/registries.js');
    const { dirname, resolve } = await import('node:path');
    for (const w of (await importCustomModules(cfg.custom_imports, dirname(resolve(args.config)))).warnings) this.logToStderr(`Warning: ${w}`);
    const r = await evaluateKnn(cfg, {
      checkpoint: flags.checkpoint, k: flags.k, temperature, backend: flags.backend, seed: flags.seed, threads: flags.threads, s3Endpoint: flags['s3-endpoint'],
      log: (m) => this.logToStderr(m),
    });
    if (flags['work-dir']) {
      const { evalResultPath, fileSha256, writeEvalResult } = await import('../../eval/result.js');
      writeEvalResult(evalResultPath(resolve(flags['work-dir']), 'knn'), {
        name: 'knn', metric: 'knn_top1', value: r.top1, results: { ...r }, config: resolve(args.config), checkpoint: flags.checkpoint ?? null,
        checkpoint_sha256: await fileSha256(flags.checkpoint), wall_seconds: r.seconds, world_size: 1, created: new Date().toISOString(),
      });
    }
    print(r);
  }
}
