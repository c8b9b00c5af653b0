import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { tf } from '../../src/engine/tf.js';
import { manualSeed } from '../../src/engine/random.js';
import { ALGORITHMS, buildModel } from '../../src/models/index.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { EpochBasedRunner } from '../../src/runner/epoch-runner.js';
import { registerTrainingHooks } from '../../src/runner/hooks/index.js';
import { Logger } from '../../src/runner/logging/logger.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';

function shippedConfigs(dir = 'configs/selfsup'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '_base_') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...shippedConfigs(p));
    else if (e.name.endsWith('.yaml')) out.push(p);
  }
  return out.sort();
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const configs = shippedConfigs();

test('every algorithm has a zoo (in1k), a Fashion-MNIST and a tiny synthetic config', () => {
  for (const algo of ['simclr', 'mocov2', 'byol', 'simsiam', 'barlowtwins']) {
    const mine = configs.filter((c) => c.includes(`/${algo}/`));
    expect({ algo, in1k: mine.some((c) => c.endsWith('_in1k.yaml')) }).toEqual({ algo, in1k: true });
    expect({ algo, fmnist: mine.some((c) => c.endsWith('_fmnist.yaml')) }).toEqual({ algo, fmnist: true });
    expect({ algo, tiny: mine.some((c) => c.endsWith('_1xb8-2it_synthetic.yaml')) }).toEqual({ algo, tiny: true });
  }
});

describe.each(configs)('%s', (path) => {
  test('resolves; its model, optimizer and hooks are accepted', () => {
    const cfg = loadConfig(path) as Record<string, any>;
    expect(ALGORITHMS.has(cfg.model.type)).toBe(true);
    const runner = new EpochBasedRunner({
      model: {} as never, optimizer: { paramGroups: [{ params: [], lr: 0.1, weight_decay: 0, momentum: 0.9 }] } as never, workDir: '/tmp/none',
      logger: new Logger(undefined, 0, 'mmselfsup', () => {}), dist: singleProcessContext(), meta: {}, timestamp: 'x', maxEpochs: cfg.runner.max_epochs,
    });
    registerTrainingHooks(runner, cfg, path);
    expect(runner.hooks.length).toBeGreaterThanOrEqual(4);
    if (path.endsWith('_in1k.yaml')) {
      // ResNet-50 models are too big to build here: check the optimizer on representative names
      const names = ['backbone.conv1.weight', 'backbone.bn1.weight', 'backbone.layer1.0.downsample.1.bias', 'neck.fc0.weight', 'head.predictor.fc0.weight'];
      const vars = names.map((n) => [n, tf.variable(tf.zeros([2]))] as [string, tf.Variable]);
      buildOptimizer(vars, cfg.optimizer);
      for (const [, v] of vars) v.dispose();
    } else {
      manualSeed(0);
      const model = buildModel(cfg.model, path);
      buildOptimizer(model.namedParameters(), cfg.optimizer).optimizer.dispose();
      model.dispose();
    }
  });
});
