/**
 * SwAV's resolution groups (each run of equal-size views is one backbone batch, as MMSelfSup's
 * unique_consecutive over widths) and SwAVHook's queue schedule.
 */
import { initBackend } from '../../src/engine/backend.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { buildModel } from '../../src/models/index.js';
import type { SwAV } from '../../src/models/algorithms/swav.js';
import { SwAVHook } from '../../src/runner/hooks/swav-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

const cfg = {
  type: 'SwAV',
  backbone: { type: 'ResNet_CIFAR', depth: 18, base_channels: 2, stem_channels: 4, out_indices: [4] },
  neck: { type: 'SwAVNeck', in_channels: 16, hid_channels: 8, out_channels: 4, norm_cfg: { type: 'BN1d' } },
  head: { type: 'SwAVHead', feat_dim: 4, num_prototypes: 5, num_crops: [2, 3], crops_for_assign: [0, 1] },
};

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('views go through the backbone in groups of consecutive equal resolution', () => {
  const model = buildModel(cfg) as unknown as SwAV;
  const seen: number[][] = [];
  const forward = model.backbone.forward.bind(model.backbone);
  model.backbone.forward = ((x: Tensor) => {
    seen.push([...(x as Tensor).shape]);
    return forward(x);
  }) as typeof model.backbone.forward;
  const bs = 2;
  const views = [16, 16, 8, 8, 8].map((s, i) => tf.randomNormal([bs, s, s, 3], 0, 1, 'float32', i));
  const loss = tf.tidy(() => model.forwardTrain(views).loss);
  expect(seen).toEqual([
    [2 * bs, 16, 16, 3],
    [3 * bs, 8, 8, 3],
  ]);
  expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
});

test('SwAVHook: no queue before epoch_queue_starts, then one of queue_length rounded to the global batch, kept across epochs', () => {
  const model = buildModel(cfg) as unknown as SwAV;
  const runner = { model, worldSize: 1, epoch: 0 } as unknown as BaseRunner & { epoch: number };
  const hook = new SwAVHook({ batch_size: 4, epoch_queue_starts: 1, crops_for_assign: [0, 1], feat_dim: 4, queue_length: 10 });
  hook.beforeRun(runner);
  expect(hook.queueLength).toBe(8);
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue).toBeNull();
  hook.afterTrainEpoch(runner);
  runner.epoch = 1;
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue?.map((q) => q.length)).toEqual([8 * 4, 8 * 4]);
  model.head.queue![0][0] = 0.5;
  model.head.useQueue = true;
  hook.afterTrainEpoch(runner);
  runner.epoch = 2;
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue![0][0]).toBe(0.5);
  expect(model.head.useQueue).toBe(false);
});

test('SwAVHook: feat_dim or crops_for_assign that differ from the head are one-line config errors', () => {
  const runner = { model: buildModel(cfg), worldSize: 1, epoch: 0 } as unknown as BaseRunner;
  expect(() => new SwAVHook({ batch_size: 4, feat_dim: 8 }).beforeRun(runner)).toThrow(/SwAVHook: feat_dim 8 differs from model\.head\.feat_dim 4/);
  expect(() => new SwAVHook({ batch_size: 4, feat_dim: 4, crops_for_assign: [0] }).beforeRun(runner)).toThrow(/must have as many entries as model\.head\.crops_for_assign/);
});
