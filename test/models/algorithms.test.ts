import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/index.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import type { Batch } from '../../src/models/contracts.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const backbone = { type: 'ResNet_CIFAR', depth: 18, base_channels: 4, stem_channels: 4, out_indices: [4], norm_cfg: { type: 'BN' } };
const neckNL = (out: number, extra = {}) => ({ type: 'NonLinearNeck', in_channels: 32, hid_channels: 32, out_channels: out, norm_cfg: { type: 'BN' }, ...extra });
const predictor = { type: 'NonLinearNeck', in_channels: 16, hid_channels: 16, out_channels: 16, with_avg_pool: false, with_last_bn: false, with_bias: true, norm_cfg: { type: 'BN' } };

const MODELS: Record<string, Record<string, unknown>> = {
  SimCLR: { type: 'SimCLR', backbone, neck: neckNL(16), head: { type: 'ContrastiveHead', temperature: 0.2 } },
  MoCo: {
    type: 'MoCo', queue_len: 16, feat_dim: 16, momentum: 0.99, backbone,
    neck: { type: 'MoCoV2Neck', in_channels: 32, hid_channels: 32, out_channels: 16 }, head: { type: 'ContrastiveHead', temperature: 0.2 },
  },
  BYOL: { type: 'BYOL', base_momentum: 0.99, backbone, neck: neckNL(16, { with_bias: true, with_last_bn: false }), head: { type: 'LatentPredictHead', predictor } },
  SimSiam: { type: 'SimSiam', backbone, neck: neckNL(16, { num_layers: 3, with_last_bn_affine: false }), head: { type: 'LatentPredictHead', predictor: { ...predictor, with_last_bias: true } } },
  BarlowTwins: { type: 'BarlowTwins', backbone, neck: neckNL(16, { num_layers: 3, with_last_bn: false }), head: { type: 'LatentCrossCorrelationHead', in_channels: 16 } },
  Classification: { type: 'Classification', backbone, head: { type: 'ClsHead', with_avg_pool: true, in_channels: 32, num_classes: 4 } },
};

function batch(n = 8, size = 16): Batch {
  let s = 1;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const base = Float32Array.from({ length: n * size * size * 3 }, r);
  const view = () => ({ data: base.map((x) => x + 0.3 * r()), shape: [n, size, size, 3] });
  return { views: [view(), view()], labels: Int32Array.from({ length: n }, (_, i) => i % 4) };
}

describe.each(Object.keys(MODELS))('%s', (name) => {
  test('loss goes down over a few SGD steps on one batch; tensor count stays flat', async () => {
    manualSeed(0);
    const model = buildModel(MODELS[name]);
    const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'SGD', lr: 0.05, momentum: 0.9 });
    const b = batch();
    const ctx = { dist: singleProcessContext() };
    // MoCo's queue fills with this very batch's keys (harder negatives each step): compare its loss
    // before and after training against the same initial queue
    const buffers = Object.fromEntries(model.namedBuffers());
    const queue0 = name === 'MoCo' ? tf.clone(buffers.queue) : undefined;
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const out = await model.trainStep(b, ctx);
      optimizer.step(out.grads);
      for (const g of out.grads.values()) g.dispose();
      if ('momentumUpdate' in model) (model as unknown as { momentumUpdate(): void }).momentumUpdate();
      losses.push(out.loss);
      counts.push(tf.memory().numTensors);
      expect(out.grads.size).toBeGreaterThan(0);
    }
    if (queue0) {
      buffers.queue.assign(queue0);
      buffers.queue_ptr.assign(tf.tensor1d([0], 'int32'));
      const out = await model.trainStep(b, ctx);
      for (const g of out.grads.values()) g.dispose();
      losses.push(out.loss);
      queue0.dispose();
      counts.push(counts[5]);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(counts[5]).toBe(counts[2]);
    optimizer.dispose();
    model.dispose();
  });
});

test('parameter and buffer names are MMSelfSup state-dict names', () => {
  manualSeed(0);
  const moco = buildModel(MODELS.MoCo);
  const names = moco.namedParameters().map(([n]) => n);
  expect(names).toContain('encoder_q.0.conv1.weight');
  expect(names).toContain('encoder_q.1.mlp.0.weight');
  expect(names).toContain('encoder_k.1.mlp.2.bias');
  expect(moco.namedBuffers().map(([n]) => n)).toEqual(expect.arrayContaining(['queue', 'queue_ptr', 'encoder_q.0.bn1.running_mean']));
  expect(moco.namedParameters().filter(([n, v]) => n.startsWith('encoder_k') && v.trainable)).toEqual([]);
  const byol = buildModel(MODELS.BYOL);
  expect(byol.namedParameters().map(([n]) => n)).toEqual(expect.arrayContaining(['online_net.0.layer1.0.conv1.weight', 'target_net.1.fc0.weight', 'head.predictor.fc0.bias']));
  const bt = buildModel(MODELS.BarlowTwins);
  expect(bt.namedBuffers().map(([n]) => n)).toContain('head.bn.running_var');
  for (const m of [moco, byol, bt]) m.dispose();
});

test('unknown argument of a nested component names the key and the type', () => {
  expect(() => buildModel({ ...MODELS.SimCLR, head: { type: 'ContrastiveHead', temprature: 0.1 } }, 'x.yaml')).toThrow(
    /ContrastiveHead does not accept the argument "temprature"; did you mean temperature\? \(in model of x\.yaml\)/,
  );
  expect(() => buildModel({ ...MODELS.SimCLR, type: 'SimCLRR' })).toThrow(/unknown algorithm type "SimCLRR"; did you mean SimCLR/);
});

test('train() keeps a backbone\'s frozen stages and norm_eval BatchNorms in eval mode', () => {
  manualSeed(0);
  const model = buildModel({ ...MODELS.SimCLR, backbone: { ...backbone, frozen_stages: 1 } });
  model.eval();
  model.train();
  const modes = Object.fromEntries(model.namedModules().map(([n, m]) => [n, m.training]));
  expect(modes['backbone.bn1']).toBe(false);
  expect(modes['backbone.layer1.0.bn1']).toBe(false);
  expect(modes['backbone.layer2.0.bn1']).toBe(true);
  expect(modes['neck.bn0']).toBe(true);
  expect(model.namedParameters().find(([n]) => n === 'backbone.layer1.0.conv1.weight')![1].trainable).toBe(false);
  model.dispose();
});

test('neck init_cfg: Normal(std) on Linear gives N(0, std²) weights and zero biases; other forms are rejected', () => {
  manualSeed(0);
  const model = buildModel({ ...MODELS.MoCo, neck: { type: 'MoCoV2Neck', in_channels: 32, hid_channels: 256, out_channels: 16, init_cfg: { type: 'Normal', std: 0.01, layer: 'Linear' } } });
  const p = Object.fromEntries(model.namedParameters());
  const w = p['encoder_q.1.mlp.0.weight'];
  const std = Math.sqrt(tf.moments(w).variance.dataSync()[0]);
  expect(std).toBeGreaterThan(0.009);
  expect(std).toBeLessThan(0.011);
  expect(Math.max(...tf.abs(p['encoder_q.1.mlp.0.bias']).dataSync())).toBe(0);
  model.dispose();
  expect(() => buildModel({ ...MODELS.MoCo, neck: { type: 'MoCoV2Neck', in_channels: 32, hid_channels: 8, out_channels: 16, init_cfg: { type: 'Xavier', layer: 'Linear' } } })).toThrow(/init_cfg .* is not supported/);
});

test('BYOL loss is MMSelfSup 0.x\'s 2·(head(v1→t2) + head(v2→t1)), the head giving −mean cosine', async () => {
  manualSeed(0);
  const byol = buildModel(MODELS.BYOL) as unknown as import('../../src/models/algorithms/byol.js').BYOL;
  const b = batch();
  const out = await byol.trainStep(b, { dist: singleProcessContext() });
  for (const g of out.grads.values()) g.dispose();
  const [v1, v2] = b.views.map((v) => tf.tensor(v.data, [...v.shape]));
  const [p1, p2] = [v1, v2].map((v) => (byol.onlineNet.forward(v) as tf.Tensor[])[0]);
  const [t1, t2] = [v1, v2].map((v) => (byol.targetNet.forward(v) as tf.Tensor[])[0]);
  const halves = tf.add(byol.head.forward(p1, t2).loss, byol.head.forward(p2, t1).loss).dataSync()[0];
  expect(out.loss).toBeCloseTo(2 * halves, 5);
  expect(Math.abs(out.loss)).toBeLessThanOrEqual(4);
  byol.dispose();
});
