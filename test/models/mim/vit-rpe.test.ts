/** Issue 18: the -rpe fine-tuning ViT (use_window, init_values, qkv_bias=False) equals MMSelfSup's in PyTorch (tools/torch-cae-reference.py rpe). */
import { join } from 'node:path';
import { initBackend } from '../../../src/engine/backend.js';
import { tf, type Tensor } from '../../../src/engine/tf.js';
import type { BaseAlgorithm } from '../../../src/models/algorithms/base.js';
import { relativePositionIndex } from '../../../src/models/backbones/rpe-attention.js';
import { replayFixture } from './replay.js';
import { trainTwoIterations } from './train-two-iterations.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('loss, gradients and 5 AdamW steps of Classification(MIMVisionTransformer rpe, MAEFinetuneHead) equal PyTorch', () => {
  // the fixture's mask.<k> holds the labels of step k
  const r = replayFixture('vit-rpe-tiny.safetensors', (m, img, labels) => (m as BaseAlgorithm).forwardTrain([img], tf.cast(labels, 'int32') as Tensor));
  r.losses.forEach((l, k) => expect({ k, rel: Math.abs(l - r.refLosses[k]) / Math.abs(r.refLosses[k]) < 1e-4 }).toEqual({ k, rel: true }));
  if (process.env.SSL_PRINT_EQUALITY) console.log(JSON.stringify(r));
  expect(r.gradCount).toBeGreaterThan(25);
  expect(r.gradErr.err).toBeLessThan(1e-3);
  expect(r.finalErr.err).toBeLessThan(1e-3);
});

test('relative position index: BEiT layout for a 2×3 window plus the cls token', () => {
  const idx = relativePositionIndex(2, 3);
  const n = 7;
  const num = 3 * 5 + 3;
  expect(idx[0]).toBe(num - 1);
  expect(idx[1]).toBe(num - 3); // cls -> patch
  expect(idx[n]).toBe(num - 2); // patch -> cls
  // patch (0,0) to itself sits at the centre of the (2·2−1)×(2·3−1) table: (1, 2) -> 1·5 + 2
  expect(idx[1 * n + 1]).toBe(7);
  // patch (1,2) to patch (0,0): Δh = 1, Δw = 2 -> (2, 4) -> 14
  expect(idx[6 * n + 1]).toBe(14);
});

test('the seed -rpe fine-tuning config trains 2 iterations at 32²', async () => {
  const CLS = join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs', 'benchmarks', 'classification', 'imagenet');
  const { code, log } = await trainTwoIterations(join(CLS, 'vit-base-p16_ft-8xb128-coslr-100e-rpe_in1k.py'), [
    'model.backbone.img_size=32', 'model.head.num_classes=4', 'data.samples_per_gpu=4', 'data.val.pipeline.0.size=36', 'data.val.pipeline.1.size=32', 'runner.max_epochs=1',
    'model.backbone.arch=deit-tiny', 'model.head.embed_dim=192', 'model.train_cfg.augments.0.num_classes=4', 'model.train_cfg.augments.1.num_classes=4',
    'data.train.pipeline.0.input_size=32',
  ]);
  expect(log).toMatch(/Epoch \[1\] mean loss: [0-9.]+ over 2 iterations/);
  expect(code).toBe(0);
}, 120_000);
