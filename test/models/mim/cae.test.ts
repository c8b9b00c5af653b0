/** Issue 18: CAE equals MMSelfSup's forward_train in PyTorch (tools/torch-cae-reference.py) and trains without leaks. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { decodeSafetensors, tensorFromRaw } from '../../../src/engine/safetensors.js';
import { tf, type Tensor, type Tensor4D } from '../../../src/engine/tf.js';
import { buildModel } from '../../../src/models/index.js';
import type { CAE } from '../../../src/models/algorithms/cae.js';
import { readTokenizerFile } from '../../../src/models/heads/cae-head.js';
import { singleProcessContext } from '../../../src/dist/trainer-context.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';
import { tempDir } from '../../runner/helpers.js';
import { FIXTURES, replayFixture } from './replay.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const TOKENIZER = 'test/fixtures/torch/cae-tokenizer.pth';
const fixture = decodeSafetensors(readFileSync(join(FIXTURES, 'cae-tiny.safetensors')));
const tiny = (over: Record<string, unknown> = {}) => ({ ...JSON.parse(fixture.metadata.model), ...over });

async function tokenizerState(): Promise<Map<string, Tensor>> {
  const raw = await readTokenizerFile(TOKENIZER);
  return new Map([...raw].map(([k, r]) => [k, tensorFromRaw(r)]));
}

test('loss, gradients and 5 AdamW steps (teacher EMA included) equal PyTorch; the DALL-E tokens too', async () => {
  const state = await tokenizerState();
  const imgTarget = tensorFromRaw(fixture.tensors.get('img_target')!) as Tensor4D;
  const tokenMismatch: number[] = [];
  const r = replayFixture('cae-tiny.safetensors', (m, img, mask, k) => {
    const cae = m as CAE;
    const target = cae.teacherTarget(img as Tensor4D, mask);
    cae.momentumUpdate();
    const tokens = cae.head.tokens(tf.add(tf.mul(imgTarget, 0.8), 0.1) as Tensor4D).dataSync();
    const want = tensorFromRaw(fixture.tensors.get(`tokens.${k}`)!).dataSync();
    tokenMismatch.push(tokens.reduce((s, t, i) => s + (t === want[i] ? 0 : 1), 0));
    return cae.lossOf(img as Tensor4D, imgTarget, mask, target);
  }, { prepare: (m) => (m as CAE).head.useTokenizer(state) });
  state.forEach((t) => t.dispose());
  expect(tokenMismatch).toEqual([0, 0, 0, 0, 0]);
  r.losses.forEach((l, k) => expect({ k, rel: Math.abs(l - r.refLosses[k]) / Math.abs(r.refLosses[k]) < 1e-4 }).toEqual({ k, rel: true }));
  if (process.env.SSL_PRINT_EQUALITY) console.log(JSON.stringify(r));
  expect(r.gradCount).toBeGreaterThan(40);
  expect(r.gradErr.err).toBeLessThan(1e-3);
  expect(r.finalErr.err).toBeLessThan(1e-3);
});

test('tf.memory().numTensors stays flat over 20 training steps (mask and img_target from the batch)', async () => {
  manualSeed(0);
  const model = buildModel(tiny()) as CAE;
  await model.loadAuxiliaryFiles();
  const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'AdamW', lr: 1e-3, weight_decay: 0.05 });
  const mask = { data: Uint8Array.from({ length: 32 }, (_, i) => ((i % 16) * 7) % 16 < 6 ? 1 : 0), shape: [2, 4, 4] };
  const img = (n: number) => ({ data: Float32Array.from({ length: 2 * n * n * 3 }, (_, i) => 0.5 + 0.5 * Math.sin(i)), shape: [2, n, n, 3] });
  const batch = { views: [img(16)], mask, img_target: img(32) };
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    const out = await model.trainStep(batch, { dist: singleProcessContext() });
    expect(Object.keys(out.logVars).sort()).toEqual(['align', 'loss', 'main']);
    optimizer.step(out.grads);
    out.grads.forEach((g: Tensor) => g.dispose());
    counts.push(tf.memory().numTensors);
  }
  expect(counts[19]).toBe(counts[2]);
  expect(model.teacher.namedParameters().every(([, v]) => !v.trainable)).toBe(true);
  optimizer.dispose();
  model.dispose();
});

test('bad input: one line naming the key, the file or the values', async () => {
  const dir = tempDir('ssl-cae-');
  const missing = buildModel(tiny({ head: { type: 'CAEHead', tokenizer_path: join(dir, 'dalle_encoder.pth'), lambd: 2 } })) as CAE;
  await expect(missing.loadAuxiliaryFiles()).rejects.toThrow(
    `CAEHead: tokenizer_path ${join(dir, 'dalle_encoder.pth')} does not exist; CAE needs the DALL-E encoder weights there (MMSelfSup's: https://download.openmmlab.com/mmselfsup/cae/dalle_encoder.pth)`,
  );
  missing.dispose();
  // a tokenizer file whose tensors do not fit one DALL-E encoder
  const { encodeSafetensors } = await import('../../../src/engine/safetensors.js');
  const raw = await readTokenizerFile(TOKENIZER);
  const w = raw.get('blocks.group_2.block_1.res_path.conv_2.w')!;
  raw.set('blocks.group_2.block_1.res_path.conv_2.w', { ...w, shape: [w.shape[0], w.shape[1], 1, 9] });
  writeFileSync(join(dir, 'bad.safetensors'), encodeSafetensors(raw));
  const bad = buildModel(tiny({ head: { type: 'CAEHead', tokenizer_path: join(dir, 'bad.safetensors'), lambd: 2 } })) as CAE;
  await expect(bad.loadAuxiliaryFiles()).rejects.toThrow(/tokenizer_path .*bad.safetensors: size mismatch for blocks.group_2.block_1.res_path.conv_2.w: checkpoint has shape \[2, 2, 1, 9\], the model has \[2, 2, 3, 3\]/);
  bad.dispose();
  copyFileSync(TOKENIZER, join(dir, 'ok.pth'));
  const vocab = buildModel(tiny({ head: { type: 'CAEHead', tokenizer_path: join(dir, 'ok.pth'), lambd: 2 }, neck: { ...tiny().neck, num_classes: 32 } })) as CAE;
  await vocab.loadAuxiliaryFiles();
  const batch = { views: [{ data: new Float32Array(2 * 16 * 16 * 3), shape: [2, 16, 16, 3] }], mask: { data: Uint8Array.from({ length: 32 }, (_, i) => (i % 16 < 6 ? 1 : 0)), shape: [2, 4, 4] }, img_target: { data: new Float32Array(2 * 32 * 32 * 3), shape: [2, 32, 32, 3] } };
  await expect(vocab.trainStep(batch, { dist: singleProcessContext() })).rejects.toThrow('CAE: model.neck.num_classes 32 must equal the tokenizer\'s vocabulary size 16');
  vocab.dispose();
  const model = buildModel(tiny()) as CAE;
  await model.loadAuxiliaryFiles();
  await expect(model.trainStep({ ...batch, mask: { data: Uint8Array.from({ length: 32 }, (_, i) => (i % 16 < 5 ? 1 : 0)), shape: [2, 4, 4] } }, { dist: singleProcessContext() }))
    .rejects.toThrow('CAENeck: mask_tokens_num 6 must equal the masked patches per image, 5 (the mask generator\'s num_masking_patches)');
  await expect(model.trainStep({ ...batch, img_target: { data: new Float32Array(2 * 16 * 16 * 3), shape: [2, 16, 16, 3] } }, { dist: singleProcessContext() }))
    .rejects.toThrow(/the tokenizer's picture is 16×16, giving 2×2 tokens for 4×4 patches; set the crop's second_size to 8 × img_size \/ patch_size = 32/);
  model.dispose();
  expect(() => buildModel(tiny({ neck: { ...tiny().neck, embed_dims: 32 } }))).toThrow(/model.neck.embed_dims 32 must equal the backbone's embed_dims 16/);
  expect(() => buildModel(tiny({ base_momentum: 1.5 }))).toThrow(/base_momentum must be in \[0, 1\], got 1.5/);
});
