/** Issue 18: MaskFeat equals MMSelfSup's forward_train in PyTorch (tools/torch-mim-reference.py) and trains without leaks. */
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { tf, type Tensor, type Tensor4D } from '../../../src/engine/tf.js';
import { buildModel } from '../../../src/models/index.js';
import type { MaskFeat } from '../../../src/models/algorithms/maskfeat.js';
import { singleProcessContext } from '../../../src/dist/trainer-context.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';
import { replayFixture } from './replay.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const tiny = (over: Record<string, unknown> = {}) => ({
  type: 'MaskFeat',
  backbone: { type: 'MaskFeatViT', arch: { embed_dims: 16, num_layers: 2, num_heads: 2, feedforward_channels: 32 }, img_size: 32, patch_size: 8 },
  head: { type: 'MaskFeatPretrainHead', embed_dim: 16, hog_dim: 108 },
  hog_para: { nbins: 9, pool: 4, gaussian_window: 16 },
  ...over,
});

test('loss, gradients and 5 AdamW steps equal PyTorch (same weights, images and masks)', () => {
  const r = replayFixture('maskfeat-tiny.safetensors', (m, img, mask) => (m as MaskFeat).lossOf(img as Tensor4D, mask));
  r.losses.forEach((l, k) => expect({ k, rel: Math.abs(l - r.refLosses[k]) / Math.abs(r.refLosses[k]) < 1e-4 }).toEqual({ k, rel: true }));
  if (process.env.SSL_PRINT_EQUALITY) console.log(JSON.stringify(r));
  expect(r.gradCount).toBeGreaterThan(20);
  expect(r.gradErr.err).toBeLessThan(1e-3);
  expect(r.finalErr.err).toBeLessThan(1e-3);
});

test('only masked patches count, and they see the mask token instead of their pixels', () => {
  manualSeed(0);
  const model = buildModel(tiny()) as MaskFeat;
  tf.tidy(() => {
    const img = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 1) as Tensor4D;
    const mask = tf.tensor3d([[[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]]);
    // changing a masked patch's pixels changes only the HOG target, not the prediction
    const edited = tf.add(img, tf.pad(tf.ones([1, 8, 8, 3]), [[0, 0], [0, 24], [0, 24], [0, 0]])) as Tensor4D;
    const a = model.backbone.forwardTokens(img, mask);
    const b = model.backbone.forwardTokens(edited, mask);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
    const c = model.backbone.forwardTokens(edited, tf.zeros([1, 4, 4]));
    expect(tf.max(tf.abs(tf.sub(a, c))).dataSync()[0]).toBeGreaterThan(0);
    // the loss is the mean over the one masked patch: unmasked predictions do not enter it
    const hog = model.hog.forward(img);
    const pred = model.head.head.forward(tf.slice(a, [0, 1, 0], [1, 1, -1]));
    const want = tf.mean(tf.squaredDifference(pred, tf.slice(hog, [0, 0, 0], [1, 1, -1]))).dataSync()[0];
    expect(model.lossOf(img, mask).loss.dataSync()[0]).toBeCloseTo(want, 6);
  });
  model.dispose();
});

test('tf.memory().numTensors stays flat over 20 training steps (mask from the batch)', async () => {
  manualSeed(0);
  const model = buildModel(tiny());
  const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'AdamW', lr: 1e-3, weight_decay: 0.05 });
  const mask = { data: Uint8Array.from({ length: 32 }, (_, i) => i % 3 === 0 ? 1 : 0), shape: [2, 4, 4] };
  const batch = { views: [{ data: Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i)), shape: [2, 32, 32, 3] }], mask };
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const out = await model.trainStep(batch, { dist: singleProcessContext() });
    optimizer.step(out.grads);
    out.grads.forEach((g: Tensor) => g.dispose());
    counts.push(tf.memory().numTensors);
  }
  expect(counts[19]).toBe(counts[2]);
  optimizer.dispose();
  model.dispose();
});

test('bad input: one line naming the key and values', async () => {
  expect(() => buildModel(tiny({ head: { type: 'MaskFeatPretrainHead', embed_dim: 16, hog_dim: 100 } }))).toThrow('MaskFeat: model.head.hog_dim 100 must be 3 × nbins 9 × (patch_size 8 / pool 4)² = 108');
  expect(() => buildModel(tiny({ head: { type: 'MaskFeatPretrainHead', embed_dim: 32, hog_dim: 108 } }))).toThrow(/model.head.embed_dim 32 must equal the backbone's embed_dims 16/);
  expect(() => buildModel(tiny({ hog_para: { nbins: 9, pool: 4, window: 16 } }))).toThrow(/hog_para has no "window"/);
  expect(() => buildModel(tiny({ backbone: { ...tiny().backbone, img_size: 30 } }))).toThrow(/img_size 30 must be a multiple of patch_size 8/);
  const model = buildModel(tiny());
  await expect(model.trainStep({ views: [{ data: new Float32Array(2 * 32 * 32 * 3), shape: [2, 32, 32, 3] }] } as never, { dist: singleProcessContext() })).rejects.toThrow(/needs a patch mask in the batch/);
  model.dispose();
});
