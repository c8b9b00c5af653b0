import { Args, Flags } from '@oclif/core';
import { SslCommand } from '../../cli/ssl-command.js';
import { evalLaunchFlags } from '../../cli/eval-launch.js';

export default class EvalSvm extends SslCommand {
  static override description =
    "VOC07 SVM benchmark (MMSelfSup's svm_voc07 tools): features of one backbone stage (feat1..feat5, MMSelfSup's pooling), L2-normalised; " +
    'linear SVMs one-vs-rest per class (liblinear dual coordinate descent, squared hinge, positive class weight 2) over the cost list + 0.5^4..0.5^19, ' +
    'the cost picked by 3-fold cross-validated AP; test AP (area under the monotone precision/recall curve) and mAP. --low-shot: k = 1..96 samples per class, 5 draws, mean ± std. ' +
    "Data: --voc VOC2007 (trainval -> test), else the config's svm.train/svm.val or kNN datasets (one-vs-rest over the class labels). Writes WORK_DIR/eval/svm.json (svm-lowshot.json). " +
    "With --launcher local|slurm|k8s (MMSelfSup's dist_test_svm.sh) every rank extracts the features of its share of the images and rank 0 trains the SVMs";

  static override examples = [
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet50_8xb32-coslr-200e_in1k.yaml --checkpoint latest.ckpt --voc data/VOCdevkit/VOC2007 --features feat5',
    '<%= config.bin %> <%= command.id %> configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml --checkpoint latest.ckpt --train-limit 5000',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --voc VOC2007 --low-shot --seed 0',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --voc VOC2007 --launcher local --gpus 2',
    '<%= config.bin %> <%= command.id %> CONFIG --checkpoint CKPT --voc VOC2007 --launcher slurm --nodes 1 --tasks-per-node 8 --wait',
  ];

  static override args = {
    config: Args.string({ description: 'Config with the model (the pre-training config; .py, .yaml, .json)', required: true }),
  };

  static override flags = {
    ...evalLaunchFlags,
    checkpoint: Flags.string({ description: 'Weights to evaluate (checkpoint, published model, extracted backbone); omit for random initialisation' }),
    features: Flags.string({ description: 'Backbone stage: feat1 (stem) .. feat5 (last stage)', default: 'feat5' }),
    'low-shot': Flags.boolean({ description: 'Low-shot protocol: 1,2,4,8,16,32,64,96 positives per class, 5 independent draws', default: false }),
    costs: Flags.string({ description: "SVM costs, comma-separated (MMSelfSup's 1.0,10.0,100.0; 0.5^4..0.5^19 are always added)", default: '1.0,10.0,100.0' }),
    voc: Flags.string({ description: 'A PASCAL VOC tree (JPEGImages, ImageSets/Main/<class>_{trainval,test}.txt)' }),
    'save-features': Flags.boolean({ description: 'Also write the pooled features and targets as .npy to WORK_DIR/eval/svm/ (what tools/svm-fmnist-reference.py reads)', default: false }),
    'train-limit': Flags.integer({ description: 'Use the first N training images only (quick numbers on large splits)', min: 1 }),
    'work-dir': Flags.string({ description: 'Where WORK_DIR/eval/svm.json goes (default: from the config, then work_dirs/<config path>)' }),
    seed: Flags.integer({ description: 'Seed of the low-shot draws and the solver order', default: 0 }),
    backend: Flags.string({ description: 'TensorFlow.js backend', options: ['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu'], env: 'SSL_BACKEND' }),
    'cfg-options': Flags.string({ description: 'Override settings: key=value (repeatable)', multiple: true }),
    json: Flags.boolean({ description: 'Print the result as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(EvalSvm);
    const { loadConfig, defaultWorkDir } = await import('../../config/index.js');
    const { evaluateSvm } = await import('../../eval/svm/run.js');
    const { ConfigError } = await import('../../errors.js');
    const { resolve } = await import('node:path');
    const costs = flags.costs.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
    if (costs.length === 0) throw new ConfigError('the SVM cost list is empty; give costs like --costs 1.0,10.0,100.0');
    if (costs.some((c) => !(c > 0))) throw new ConfigError(`--costs must be positive numbers, got "${flags.costs}"`);
    const print = (result: { value: number; results: Record<string, unknown> }, path: string) => {
      if (flags.json) this.log(JSON.stringify(result));
      else if (flags['low-shot']) {
        for (const r of (result.results as { low_shot: { k: number; mean: number; std: number }[] }).low_shot) this.log(`k=${r.k}: mAP ${r.mean.toFixed(2)} ± ${r.std.toFixed(2)}`);
        this.log(`-> ${path}`);
      } else this.log(`mAP (${flags.features}): ${result.value.toFixed(2)} -> ${path}`);
    };
    if (flags.launcher !== 'none' || flags['dry-run']) {
      const { launchFeatureEval } = await import('../../cli/eval-launch.js');
      const ev = { kind: 'svm' as const, checkpoint: flags.checkpoint, features: flags.features, lowShot: flags['low-shot'], costs, voc: flags.voc, trainLimit: flags['train-limit'], saveFeatures: flags['save-features'] };
      const { code, result, resultPath } = await launchFeatureEval(args.config, ev, { ...flags, seed: flags.seed }, (m) => this.log(m));
      if (code !== 0) this.exit(code);
      if (result) print(result, resultPath);
      else if (!flags['dry-run']) this.log(`the result will be written to ${resultPath}`);
      return;
    }
    const cfg = loadConfig(args.config, { cfgOptions: flags['cfg-options'] ?? [] }) as Record<string, unknown>;
    const workDir = resolve(flags['work-dir'] ?? (typeof cfg.work_dir === 'string' ? cfg.work_dir : defaultWorkDir(args.config)));
    const { result, path } = await evaluateSvm(cfg, {
      checkpoint: flags.checkpoint, features: flags.features, lowShot: flags['low-shot'], costs, voc: flags.voc, trainLimit: flags['train-limit'], saveFeatures: flags['save-features'],
      seed: flags.seed, backend: flags.backend, threads: flags.threads, workDir, config: resolve(args.config), log: (m) => this.logToStderr(m),
    });
    print(result, path);
  }
}
