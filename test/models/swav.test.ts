/**
 * SwAV's resolution groups (each run of equal-size views is one backbone batch, as MMSelfSup's
 * unique_consecutive over widths) and SwAVHook's queue schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

test('SwAVHook: no queue before epoch_queue_starts, then one of queue_length rounded to the global batch, kept across epochs, saved to work_dir/queue.pth and loaded by the next run', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'ssl-swav-hook-'));
  const model = buildModel(cfg) as unknown as SwAV;
  const runner = { model, worldSize: 1, rank: 0, epoch: 0, workDir } as unknown as BaseRunner & { epoch: number };
  const hook = new SwAVHook({ batch_size: 4, epoch_queue_starts: 1, crops_for_assign: [0, 1], feat_dim: 4, queue_length: 10 });
  await hook.beforeRun(runner);
  expect(hook.queueLength).toBe(8);
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue).toBeNull();
  await hook.afterTrainEpoch(runner);
  runner.epoch = 1;
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue?.map((q) => q.length)).toEqual([8 * 4, 8 * 4]);
  model.head.queue![0][0] = 0.5;
  model.head.queue![1][31] = -2;
  model.head.useQueue = true;
  await hook.afterTrainEpoch(runner);
  runner.epoch = 2;
  hook.beforeTrainEpoch(runner);
  expect(model.head.queue![0][0]).toBe(0.5);
  expect(model.head.useQueue).toBe(false);

  const next = buildModel(cfg) as unknown as SwAV;
  await new SwAVHook({ batch_size: 4, feat_dim: 4, queue_length: 8 }).beforeRun({ ...runner, model: next } as unknown as BaseRunner);
  expect(next.head.queue?.map((q) => [q.length, q[0], q[31]])).toEqual([
    [32, 0.5, 0],
    [32, 0, -2],
  ]);
  rmSync(workDir, { recursive: true, force: true });
});

test('SwAVHook: feat_dim or crops_for_assign that differ from the head are one-line config errors', async () => {
  const runner = { model: buildModel(cfg), worldSize: 1, rank: 0, epoch: 0, workDir: tmpdir() } as unknown as BaseRunner;
  await expect(new SwAVHook({ batch_size: 4, feat_dim: 8 }).beforeRun(runner)).rejects.toThrow(/SwAVHook: feat_dim 8 differs from model\.head\.feat_dim 4/);
  await expect(new SwAVHook({ batch_size: 4, feat_dim: 4, crops_for_assign: [0] }).beforeRun(runner)).rejects.toThrow(/must have as many entries as model\.head\.crops_for_assign/);
});
