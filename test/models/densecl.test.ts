/**
 * DenseCL's parts that the PyTorch replay (torch-algorithms.test.ts) does not isolate: the neck's
 * outputs and pooling, the state dict MMSelfSup writes, the queues' update, DenseCLHook's schedule,
 * and bad input.
 */
import { initBackend } from '../../src/engine/backend.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { buildModel, NECKS } from '../../src/models/index.js';
import type { DenseCL } from '../../src/models/algorithms/densecl.js';
import { DenseCLHook } from '../../src/runner/hooks/densecl-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

const backbone = { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4], norm_cfg: { type: 'BN' } };
const cfg = (neck: Record<string, unknown> = {}) => ({
  type: 'DenseCL', queue_len: 8, feat_dim: 4, loss_lambda: 0.5, backbone,
  neck: { type: 'DenseCLNeck', in_channels: 16, hid_channels: 8, out_channels: 4, num_grid: null, ...neck },
  head: { type: 'ContrastiveHead', temperature: 0.2 },
});
const view = (n: number, s: number, salt: number) => ({ data: Float32Array.from({ length: n * s * s * 3 }, (_, i) => Math.sin(0.7 * i + salt)), shape: [n, s, s, 3] });

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('DenseCLNeck: global [N, D], dense [N, S², D] channels-last, pooled dense = mean over positions; num_grid pools the map first', () => {
  const neck = NECKS.build({ type: 'DenseCLNeck', in_channels: 6, hid_channels: 5, out_channels: 3 });
  const x = tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 1);
  const [g, dense, pooled] = neck.forward([x]);
  expect([g.shape, dense.shape, pooled.shape]).toEqual([[2, 3], [2, 16, 3], [2, 3]]);
  const mean = tf.mean(dense, 1);
  expect(Math.max(...tf.abs(tf.sub(mean, pooled)).dataSync())).toBeLessThan(1e-6);
  // the dense branch is a 1×1 conv MLP: position (1, 2) of the map is row 1·4 + 2 of the output
  const one = neck.forward([tf.slice(x, [0, 1, 2, 0], [-1, 1, 1, -1])])[1];
  expect(Math.max(...tf.abs(tf.sub(tf.squeeze(one, [1]), tf.squeeze(tf.slice(dense, [0, 6, 0], [-1, 1, -1]), [1]))).dataSync())).toBeLessThan(1e-5);
  expect(neck.namedParameters().map(([n]) => n)).toEqual(['mlp.0.weight', 'mlp.0.bias', 'mlp.2.weight', 'mlp.2.bias', 'mlp2.0.weight', 'mlp2.0.bias', 'mlp2.2.weight', 'mlp2.2.bias']);
  const grid = NECKS.build({ type: 'DenseCLNeck', in_channels: 6, hid_channels: 5, out_channels: 3, num_grid: 2 });
  expect(grid.forward([x])[1].shape).toEqual([2, 4, 3]);
});

test('state dict as MMSelfSup writes it: encoder_q/encoder_k, two queues with pointers; the queues take the keys after each step', async () => {
  const model = buildModel(cfg()) as unknown as DenseCL;
  const names = [...model.stateDict().keys()];
  expect(names.filter((n) => !n.startsWith('encoder_'))).toEqual(['queue', 'queue_ptr', 'queue2', 'queue2_ptr']);
  expect(names.some((n) => n.startsWith('encoder_q.1.mlp2.0'))).toBe(true);
  expect(model.stateDictAliases()).toEqual({ backbone: 'encoder_q.0' });
  expect(model.namedParameters().filter(([n, v]) => n.startsWith('encoder_k') && v.trainable)).toEqual([]);
  const before = [tf.clone(model.queue), tf.clone(model.queue2)];
  const out = await model.trainStep({ views: [view(4, 32, 0), view(4, 32, 1)] }, { dist: singleProcessContext() });
  for (const g of out.grads.values()) g.dispose();
  expect(Object.keys(out.logVars).sort()).toEqual(['loss', 'loss_dense', 'loss_single']);
  expect(out.loss).toBeCloseTo(out.logVars.loss_single + out.logVars.loss_dense, 5);
  expect([model.queuePtr.dataSync()[0], model.queue2Ptr.dataSync()[0]]).toEqual([4, 4]);
  for (const [q, q0] of [[model.queue, before[0]], [model.queue2, before[1]]] as [Tensor, Tensor][]) {
    const changed = tf.sum(tf.abs(tf.sub(q, q0)), 0).dataSync();
    expect([...changed].map((c) => c > 1e-6)).toEqual([true, true, true, true, false, false, false, false]);
    // new columns are unit keys
    expect(Math.max(...tf.abs(tf.sub(tf.norm(tf.slice(q, [0, 0], [-1, 4]), 2, 0), 1)).dataSync())).toBeLessThan(1e-5);
  }
  model.dispose();
});

test('DenseCLHook: loss_lambda is 0 before start_iters and the configured value from then on', () => {
  const model = buildModel(cfg()) as unknown as DenseCL;
  model.lossLambda = 0.3;
  const runner = { model, iter: 0 } as unknown as BaseRunner & { iter: number };
  const hook = new DenseCLHook({ start_iters: 2 });
  hook.beforeRun(runner);
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    runner.iter = i;
    hook.beforeTrainIter(runner);
    seen.push(model.lossLambda);
  }
  expect(seen).toEqual([0, 0, 0.3, 0.3]);
  expect(new DenseCLHook({}).startIters).toBe(1000);
  model.dispose();
});

test('bad input: DenseCLHook on another algorithm, a num_grid that differs from the backbone map, bad neck arguments', async () => {
  const simclr = buildModel({ type: 'SimCLR', backbone, neck: { type: 'NonLinearNeck', in_channels: 16, hid_channels: 8, out_channels: 4 }, head: { type: 'ContrastiveHead' } });
  expect(() => new DenseCLHook({ start_iters: 2 }).beforeRun({ model: simclr } as unknown as BaseRunner)).toThrow(/DenseCLHook needs a DenseCL model/);
  expect(() => new DenseCLHook({ start_iter: 2 })).toThrow(/start_iter/);
  const model = buildModel(cfg({ num_grid: 3 }));
  await expect(model.trainStep({ views: [view(4, 32, 0), view(4, 32, 1)] }, { dist: singleProcessContext() })).rejects.toThrow(
    /DenseCL: the neck gives 9 dense positions \(num_grid\) but the backbone map has 16; set neck.num_grid/,
  );
  expect(() => buildModel(cfg({ hid_channels: 0 }))).toThrow(/DenseCLNeck: hid_channels must be a positive integer/);
  expect(() => buildModel(cfg({ num_grid: 1.5 }))).toThrow(/DenseCLNeck: num_grid must be a positive integer or None/);
  simclr.dispose();
  model.dispose();
});
