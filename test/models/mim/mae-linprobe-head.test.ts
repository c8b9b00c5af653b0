/** Issue 18: MAELinprobeHead (MMSelfSup's benchmarks/classification/_base_/models/vit-base-p16_linprobe.py). */
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { tf, type Tensor } from '../../../src/engine/tf.js';
import { buildModel } from '../../../src/models/index.js';
import { singleProcessContext } from '../../../src/dist/trainer-context.js';
import type { MAELinprobeHead } from '../../../src/models/heads/mae-linprobe-head.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const LINPROBE = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs', 'benchmarks', 'classification', '_base_', 'models', 'vit-base-p16_linprobe.py');

test('the seed linprobe model: frozen MIMVisionTransformer, BN without affine then Linear, plain cross-entropy', async () => {
  manualSeed(0);
  const cfg = loadConfig(LINPROBE, { cfgOptions: ['model.backbone.img_size=32', 'model.head.embed_dim=16', 'model.head.num_classes=4'] }) as Record<string, any>;
  cfg.model.backbone.arch = { embed_dims: 16, num_layers: 2, num_heads: 2, feedforward_channels: 32 };
  const model = buildModel(cfg.model) as any;
  const head = model.head as MAELinprobeHead;
  expect(model.namedParameters().filter(([, v]: [string, tf.Variable]) => v.trainable).map(([n]: [string]) => n)).toEqual(['head.head.weight', 'head.head.bias']);
  expect([...head.stateDict().keys()].sort()).toEqual(['bn.num_batches_tracked', 'bn.running_mean', 'bn.running_var', 'head.bias', 'head.weight']);
  const n = 4;
  const data = Float32Array.from({ length: n * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from([0, 1, 2, 3]);
  // the expected loss from the same frozen features: CE(Linear((f − mean) / sqrt(var + 1e-6)))
  const want = tf.tidy(() => {
    const f = model.backbone.forward(tf.tensor4d(data, [n, 32, 32, 3]))[0] as Tensor;
    const { mean, variance } = tf.moments(f, 0);
    const logits = head.head.forward(tf.div(tf.sub(f, mean), tf.sqrt(tf.add(variance, 1e-6))));
    return tf.mean(tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(labels, 'int32'), 4)), -1))).dataSync()[0];
  });
  const out = await model.trainStep({ views: [{ data, shape: [n, 32, 32, 3] }], labels }, { dist: singleProcessContext() });
  expect(out.loss).toBeCloseTo(want, 5);
  expect([...out.grads.keys()].sort()).toEqual(['head.head.bias', 'head.head.weight']);
  expect(Math.max(...Array.from(head.bn.runningMean!.dataSync()).map(Math.abs))).toBeGreaterThan(0); // running stats move
  out.grads.forEach((g: Tensor) => g.dispose());
  model.dispose();
});
