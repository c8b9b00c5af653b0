/** Issue 18: MAE equals MMSelfSup's forward_train in PyTorch (tools/torch-mim-reference.py) and trains without leaks. */
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { tf, type Tensor, type Tensor4D } from '../../../src/engine/tf.js';
import { buildModel } from '../../../src/models/index.js';
import type { MAE } from '../../../src/models/algorithms/mae.js';
import { singleProcessContext } from '../../../src/dist/trainer-context.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';
import { replayFixture } from './replay.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const tinyMae = (over: Record<string, unknown> = {}) => ({
  type: 'MAE',
  backbone: { type: 'MAEViT', arch: { embed_dims: 32, num_layers: 2, num_heads: 4, feedforward_channels: 64 }, img_size: 16, patch_size: 4, mask_ratio: 0.75 },
  neck: { type: 'MAEPretrainDecoder', patch_size: 4, in_chans: 3, embed_dim: 32, decoder_embed_dim: 16, decoder_depth: 1, decoder_num_heads: 2, mlp_ratio: 4 },
  head: { type: 'MAEPretrainHead', norm_pix: true, patch_size: 4 },
  ...over,
});

test('loss, gradients and 5 AdamW steps equal PyTorch (same weights, images and noise)', () => {
  const r = replayFixture('mae-tiny.safetensors', (m, img, noise) => (m as MAE).lossOf(img as Tensor4D, noise));
  r.losses.forEach((l, k) => expect({ k, rel: Math.abs(l - r.refLosses[k]) / Math.abs(r.refLosses[k]) < 1e-4 }).toEqual({ k, rel: true }));
  if (process.env.SSL_PRINT_EQUALITY) console.log(JSON.stringify(r));
  expect(r.gradCount).toBeGreaterThan(20);
  expect(r.gradErr.err).toBeLessThan(1e-3);
  expect(r.finalErr.err).toBeLessThan(1e-3);
});

test('the mask keeps floor(L·(1 - mask_ratio)) patches per image, chosen by the noise', () => {
  manualSeed(0);
  const model = buildModel(tinyMae()) as MAE;
  tf.tidy(() => {
    const noise = tf.tensor2d([Array.from({ length: 16 }, (_, i) => i / 16), Array.from({ length: 16 }, (_, i) => 1 - i / 16)]);
    const { latent, mask } = model.backbone.forwardMasked(tf.randomNormal([2, 16, 16, 3]) as Tensor4D, noise);
    expect(latent.shape).toEqual([2, 1 + 4, 32]);
    const m = mask.arraySync() as number[][];
    expect(m[0]).toEqual(Array.from({ length: 16 }, (_, i) => (i < 4 ? 0 : 1))); // the 4 smallest noises are kept
    expect(m[1]).toEqual(Array.from({ length: 16 }, (_, i) => (i >= 12 ? 0 : 1)));
  });
  model.dispose();
});

test('tf.memory().numTensors stays flat over 20 training steps', async () => {
  manualSeed(0);
  const model = buildModel(tinyMae());
  const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'AdamW', lr: 1e-3, weight_decay: 0.05 });
  const batch = { views: [{ data: Float32Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => Math.sin(i)), shape: [2, 16, 16, 3] }] };
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

test('bad input: one line naming the key and values', () => {
  expect(() => buildModel(tinyMae({ backbone: { type: 'MAEViT', img_size: 30, patch_size: 4 } }))).toThrow(/img_size 30 must be a multiple of patch_size 4/);
  for (const r of [1, -0.1, 1.5]) {
    expect(() => buildModel(tinyMae({ backbone: { ...tinyMae().backbone, mask_ratio: r } }))).toThrow(`MAEViT: mask_ratio must be in [0, 1), got ${r}`);
  }
  expect(() => buildModel(tinyMae({ neck: { ...tinyMae().neck, num_patches: 196 } }))).toThrow(/model.neck.num_patches 196 must equal the encoder's patch count 16/);
  expect(() => buildModel(tinyMae({ head: { type: 'MAEPretrainHead', patch_size: 8 } }))).toThrow(/model.head.patch_size 8 must equal model.backbone.patch_size 4/);
});
