import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';

export default class VizTsne extends SslCommand {
  static override description =
    "t-SNE of backbone features per stage (MMSelfSup's tools/analysis_tools/visualize_tsne.py): features of each --layer-ind stage pooled by MultiPooling, embedded in 2-D by Barnes-Hut t-SNE (scikit-learn's algorithm and MMSelfSup's settings), one scatter PNG per stage coloured by class plus the points as JSON. Data: --dataset-config's data.extract, else the config's data.extract, else kNN's val set";

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml --checkpoint work_dirs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist/latest.ckpt --layer-ind 3,4 --pool-type adaptive --num-samples 5000',
    '<%= config.bin %> <%= command.id %> CONFIG --layer-ind 4 --pool-type adaptive -o tsne_random_init   # random initialisation',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --method umap',
  ];

  static override args = {
    config: Args.string({ description: 'Config with the model (and labelled data: data.extract, or knn / data.train\'s source)', required: true }),
  };

  static override flags = {
    checkpoint: Flags.string({ description: 'Weights to embed (any file ssl writes); omit for random initialisation' }),
    'dataset-config': Flags.string({ description: "MMSelfSup's extract dataset config: its data.extract is embedded" }),
    'layer-ind': Flags.string({ description: 'Backbone stages, comma-separated: 0 = stem, 1-4 = res layers', default: '0,1,2,3,4' }),
    'pool-type': Flags.string({ description: "MultiPooling: 'specified' (ResNet-50 windows for 224 px) or 'adaptive' (a fixed grid, any input size)", options: ['specified', 'adaptive'], default: 'specified' }),
    'max-num-class': Flags.integer({ description: 'Embed only images whose label is below this', default: 20, min: 1 }),
    'num-samples': Flags.integer({ description: 'At most this many images (the first after the class filter; default: all)', min: 2 }),
    method: Flags.string({ description: 'Embedding: Barnes-Hut t-SNE, or UMAP (umap-js)', options: ['tsne', 'umap'], default: 'tsne' }),
    perplexity: Flags.string({ description: 't-SNE perplexity', default: '30' }),
    'early-exaggeration': Flags.string({ description: 't-SNE early exaggeration', default: '12' }),
    'learning-rate': Flags.string({ description: 't-SNE learning rate', default: '200' }),
    'n-iter': Flags.integer({ description: 't-SNE iterations (at least 250)', default: 1000 }),
    'n-iter-without-progress': Flags.integer({ description: 'Stop after this many iterations without a lower KL', default: 300 }),
    seed: Flags.integer({ description: 'Seed of the random initialisation and the embedding', default: 0 }),
    backend: Flags.string({ description: 'TensorFlow.js backend', options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'], env: 'SSL_BACKEND' }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    out: Flags.string({ char: 'o', description: 'Output dir (default: <work_dir>/tsne_<timestamp>)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VizTsne);
    const { SslError } = await import('../../errors.js');
    const { loadConfig, defaultWorkDir } = await import('../../config/index.js');
    const { visualizeTsne } = await import('../../analysis/tsne/visualize-tsne.js');
    const { runTimestamp } = await import('../../runner/logging/logger.js');
    const num = (name: string, v: string) => {
      const x = Number(v);
      if (!Number.isFinite(x)) throw new SslError(`--${name} must be a number, got '${v}'`);
      return x;
    };
    const layerInd = flags['layer-ind'].split(',').map((s) => {
      const x = Number(s.trim());
      if (!Number.isInteger(x) || x < 0 || x > 4) throw new SslError(`--layer-ind takes stages 0-4 separated by commas (e.g. 0,1,2,3,4), got '${flags['layer-ind']}'`);
      return x;
    });
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    const { importCustomModules } = await import('../../runner/registries.js');
    const { dirname, resolve, join } = await import('node:path');
    for (const w of (await importCustomModules(cfg.custom_imports, dirname(resolve(args.config)))).warnings) this.logToStderr(`Warning: ${w}`);
    let dataset: Record<string, unknown> | undefined;
    if (flags['dataset-config']) {
      const dcfg = loadConfig(flags['dataset-config']) as Record<string, unknown>;
      dataset = (dcfg.data as Record<string, unknown> | undefined)?.extract as Record<string, unknown> | undefined;
      if (!dataset) throw new SslError(`${flags['dataset-config']} has no data.extract dataset`);
    }
    const workDir = typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(args.config);
    const outDir = flags.out ?? join(workDir, `tsne_${runTimestamp()}`);
    const results = await visualizeTsne(cfg, {
      checkpoint: flags.checkpoint,
      layerInd,
      poolType: flags['pool-type'] as 'specified' | 'adaptive',
      maxNumClass: flags['max-num-class'],
      numSamples: flags['num-samples'],
      method: flags.method as 'tsne' | 'umap',
      tsne: {
        perplexity: num('perplexity', flags.perplexity),
        earlyExaggeration: num('early-exaggeration', flags['early-exaggeration']),
        learningRate: num('learning-rate', flags['learning-rate']),
        nIter: flags['n-iter'],
        nIterWithoutProgress: flags['n-iter-without-progress'],
        seed: flags.seed,
      },
      dataset,
      outDir,
      backend: flags.backend,
      seed: flags.seed,
      log: (m) => this.logToStderr(m),
    });
    for (const r of results) this.log(`${r.key}: ${r.png} (${r.dim}-d features, ${r.seconds.toFixed(1)} s)`);
  }
}
