/** Issue 18: SimMIM with the Swin Transformer equals MMSelfSup's forward_train in PyTorch (tools/torch-simmim-reference.py) and trains without leaks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { countModelParameters } from '../../../src/models/backbones/count.js';
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { tf, type Tensor, type Tensor4D } from '../../../src/engine/tf.js';
import { buildModel } from '../../../src/models/index.js';
import type { SimMIM } from '../../../src/models/algorithms/simmim.js';
import { singleProcessContext } from '../../../src/dist/trainer-context.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';
import { replayFixture } from './replay.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const tinySimMIM = (over: { backbone?: Record<string, unknown>; neck?: Record<string, unknown>; head?: Record<string, unknown> } = {}) => ({
  type: 'SimMIM',
  backbone: { type: 'SimMIMSwinTransformer', arch: { embed_dims: 8, depths: [2, 2], num_heads: [2, 4] }, img_size: 32, out_indices: [1], stage_cfgs: { block_cfgs: { window_size: 4 } }, ...over.backbone },
  neck: { type: 'SimMIMNeck', in_channels: 16, encoder_stride: 8, ...over.neck },
  head: { type: 'SimMIMHead', patch_size: 4, encoder_in_channels: 3, ...over.head },
});

test('loss, gradients and 5 AdamW steps equal PyTorch (padded and shifted windows, pad_small_map, absolute position embedding)', () => {
  const r = replayFixture('simmim-swin-tiny.safetensors', (m, img, mask) => (m as SimMIM).lossOf(img as Tensor4D, mask));
  r.losses.forEach((l, k) => expect({ k, rel: Math.abs(l - r.refLosses[k]) / Math.abs(r.refLosses[k]) < 1e-4 }).toEqual({ k, rel: true }));
  if (process.env.SSL_PRINT_EQUALITY) console.log(JSON.stringify(r));
  expect(r.gradCount).toBeGreaterThan(40);
  expect(r.gradErr.err).toBeLessThan(1e-3);
  expect(r.finalErr.err).toBeLessThan(1e-3);
});

test('the loss is the mean L1 error over the masked pixels (per channel), 0 with nothing masked', () => {
  manualSeed(0);
  const model = buildModel(tinySimMIM()) as SimMIM;
  model.eval();
  tf.tidy(() => {
    const img = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 1) as Tensor4D;
    const mask = tf.tensor3d([...Array(64)].map((_, i) => (i < 32 ? 1 : 0)), [1, 8, 8]); // top half masked
    const rec = model.neck.forward(model.backbone.forward(img, mask));
    const l1Top = tf.mean(tf.abs(tf.sub(tf.slice(img, [0, 0, 0, 0], [1, 16, 32, 3]), tf.slice(rec, [0, 0, 0, 0], [1, 16, 32, 3])))).dataSync()[0];
    expect(model.lossOf(img, mask).loss.dataSync()[0]).toBeCloseTo((l1Top * 16 * 32 * 3) / (16 * 32 + 1e-5) / 3, 5);
    // nothing masked: nothing scored
    const mask0 = tf.zeros([1, 8, 8]);
    expect(model.lossOf(img, mask0).loss.dataSync()[0]).toBe(0);
  });
  model.dispose();
});

test('tf.memory().numTensors stays flat over 20 training steps (masks from the batch)', async () => {
  manualSeed(0);
  const model = buildModel(tinySimMIM());
  const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'AdamW', lr: 1e-3, weight_decay: 0.05 });
  const mask = Uint8Array.from({ length: 2 * 64 }, (_, i) => (i * 5) % 3 === 0 ? 1 : 0);
  const batch = { views: [{ data: Float32Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i)), shape: [2, 32, 32, 3] }], idx: Int32Array.from([0, 1]), mask: { data: mask, shape: [2, 8, 8] } };
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const out = await model.trainStep(batch, { dist: singleProcessContext() });
    expect(Number.isFinite(out.loss)).toBe(true);
    optimizer.step(out.grads);
    out.grads.forEach((g: Tensor) => g.dispose());
    counts.push(tf.memory().numTensors);
  }
  expect(counts[19]).toBe(counts[2]);
  optimizer.dispose();
  model.dispose();
});

test('the seed\'s SimMIM Swin-B config has PyTorch\'s parameter counts (backbone and neck)', async () => {
  const name = 'selfsup/simmim/simmim_swin-base_16xb128-coslr-100e_in1k-192.py';
  const ref = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'torch', 'swin-param-counts.json'), 'utf8'))[name] as Record<string, object>;
  await initBackend('cpu', { log: () => {} });
  try {
    const cfg = loadConfig(join(process.cwd(), '..', 'shared', 'data', 'mmselfsup-configs', name)) as Record<string, any>;
    const c = countModelParameters(cfg.model, { buildModel: (m) => buildModel(m) });
    for (const [part, r] of Object.entries(ref)) expect({ part, ...c.parts.find((p) => p.part === part) }).toEqual({ part, ...r });
  } finally {
    await initBackend('wasm', { log: () => {} });
  }
}, 120_000);

test('bad input: one line naming the key and values', () => {
  const bb = tinySimMIM().backbone;
  expect(() => buildModel(tinySimMIM({ backbone: { img_size: 30 } }))).toThrow(/SimMIMSwinTransformer: img_size 30 must be a multiple of patch_size 4/);
  expect(() => buildModel(tinySimMIM({ neck: { in_channels: 32 } }))).toThrow('SimMIM: model.neck.in_channels 32 must equal the backbone\'s last stage channels 16');
  expect(() => buildModel(tinySimMIM({ neck: { encoder_stride: 32 } }))).toThrow(/model.neck.encoder_stride 32 must equal the backbone's total stride 8/);
  expect(() => buildModel(tinySimMIM({ head: { patch_size: 8 } }))).toThrow(/model.head.patch_size 8 must equal the backbone's patch size 4/);
  expect(() => buildModel(tinySimMIM({ backbone: { ...bb, window_size: 7 } }))).toThrow(/SimMIMSwinTransformer.*window_size/);
  const model = buildModel(tinySimMIM({ backbone: { stage_cfgs: { block_cfgs: { window_size: 6 } } } })) as SimMIM;
  // 8×8 then 4×4 maps: the second stage is smaller than a 6×6 window and pad_small_map is off
  expect(() => tf.tidy(() => model.lossOf(tf.zeros([1, 32, 32, 3]) as Tensor4D, tf.zeros([1, 8, 8])))).toThrow(
    'SwinTransformer: a 4×4 feature map is smaller than window_size 6; decrease the window_size (stage_cfgs.block_cfgs.window_size), enlarge img_size or set pad_small_map=True',
  );
  expect(() => tf.tidy(() => model.lossOf(tf.zeros([1, 32, 32, 3]) as Tensor4D, tf.zeros([1, 4, 4])))).toThrow(/the mask has 16 entries per image for 64 patches/);
  model.dispose();
});
