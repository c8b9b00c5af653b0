/** Issue 18: the ViT fine-tuning side — layer-wise lr decay, label smoothing, Mixup/CutMix, MIMVisionTransformer pooling. */
import { initBackend } from '../../../src/engine/backend.js';
import { manualSeed } from '../../../src/engine/random.js';
import { tf, type Tensor2D, type Tensor4D } from '../../../src/engine/tf.js';
import { Augments, BatchCutMix, BatchMixup, sampleBeta } from '../../../src/models/augments/batch-mix.js';
import { MIMVisionTransformer } from '../../../src/models/backbones/mim-vit.js';
import { BACKBONES } from '../../../src/models/backbones/index.js';
import { labelSmoothLoss } from '../../../src/models/losses/label-smooth.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';
import { layerDecayOptions } from '../../../src/runner/optim/transformer-finetune.js';

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
});

const tinyVit = { arch: { embed_dims: 8, num_layers: 2, num_heads: 2, feedforward_channels: 16 }, img_size: 8, patch_size: 4 };

test('TransformerFinetuneConstructor (vit): lr = base · decay^(L+1−id), no-decay rules kept', () => {
  manualSeed(0);
  const vit = BACKBONES.build({ type: 'MIMVisionTransformer', ...tinyVit, final_norm: false });
  const named = vit.namedParameters().map(([n, v]) => [`backbone.${n}`, v] as [string, tf.Variable]);
  const { optimizer } = buildOptimizer(named, {
    type: 'AdamW', lr: 1, weight_decay: 0.05, constructor: 'TransformerFinetuneConstructor', model_type: 'vit', layer_decay: 0.5,
    paramwise_options: { ln: { weight_decay: 0 }, bias: { weight_decay: 0 }, pos_embed: { weight_decay: 0 }, cls_token: { weight_decay: 0 } },
  });
  const group = (name: string) => optimizer.paramGroups.find((g) => g.params[0].name === name)!;
  // 2 layers: num_layers = 3; embeddings 0.5^3, layer i 0.5^(2−i), the rest (fc_norm) 1
  expect([group('backbone.pos_embed').lr, group('backbone.pos_embed').weight_decay]).toEqual([0.125, 0]);
  expect(group('backbone.patch_embed.projection.weight').lr).toBe(0.125);
  expect(group('backbone.layers.0.attn.qkv.weight').lr).toBe(0.25);
  expect([group('backbone.layers.1.ln1.weight').lr, group('backbone.layers.1.ln1.weight').weight_decay]).toEqual([0.5, 0]);
  expect([group('backbone.fc_norm.weight').lr, group('backbone.fc_norm.weight').weight_decay]).toEqual([1, 0.05]);
  optimizer.dispose();
  vit.dispose();
});

test('TransformerFinetuneConstructor (swin): ids by block order, reduction/norm at the stage end', () => {
  const names = ['backbone.patch_embed.projection.weight', 'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight', 'backbone.stages.0.blocks.1.ffn.layers.1.weight',
    'backbone.stages.0.downsample.reduction.weight', 'backbone.stages.1.blocks.0.norm1.weight', 'backbone.norm3.weight'];
  const o = layerDecayOptions(names, {}, 0.5, 'swin');
  // depths [2, 1]: num_layers 5; ids 0, 1, 2, 2, 3, 4
  expect(names.map((n) => o[n].lr_mult)).toEqual([0.5 ** 4, 0.5 ** 3, 0.5 ** 2, 0.5 ** 2, 0.5, 1]);
  expect(() => layerDecayOptions(names, {}, 0.5, 'resnet')).toThrow(/model_type must be 'vit' or 'swin'/);
});

test('label smoothing: (1−ε)·y + ε/C against −Σ y log softmax', () => {
  const logits = tf.tensor2d([[2, 0, -1], [0.5, 0.5, 3]]);
  const lsm = (r: number[]) => r.map((v) => v - Math.log(r.reduce((s, x) => s + Math.exp(x), 0)));
  const [a, b] = [lsm([2, 0, -1]), lsm([0.5, 0.5, 3])];
  const y = (k: number) => [0, 1, 2].map((j) => (j === k ? 0.9 : 0) + 0.1 / 3);
  const expected = -(y(0).reduce((s, v, j) => s + v * a[j], 0) + y(2).reduce((s, v, j) => s + v * b[j], 0)) / 2;
  expect(labelSmoothLoss(logits, tf.tensor1d([0, 2], 'int32'), 0.1).dataSync()[0]).toBeCloseTo(expected, 5);
  // soft labels are smoothed the same way
  expect(labelSmoothLoss(logits, tf.tensor2d([[1, 0, 0], [0, 0, 1]]), 0.1).dataSync()[0]).toBeCloseTo(expected, 5);
});

describe('Mixup / CutMix (mmcls batch augments)', () => {
  let img: Tensor4D;
  let labels: tf.Tensor;
  beforeAll(() => {
    img = tf.tensor4d(Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.floor(i / 64)), [4, 8, 8, 1]); // image k is all k
    labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  });

  test('Beta(α, α) samples have mean 1/2 and variance 1/(4(2α+1))', () => {
    manualSeed(1);
    const xs = Array.from({ length: 4000 }, () => sampleBeta(0.8, 0.8));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1 / (4 * 2.6))).toBeLessThan(0.01);
  });

  test('Mixup: each image is λ·itself + (1−λ)·a partner, and so is its label', () => {
    manualSeed(2);
    const { img: m, label } = new BatchMixup(0.8, 4, 1).apply(img, labels);
    const pix = (m.arraySync() as number[][][][]).map((x) => x[0][0][0]);
    const lab = label.arraySync() as number[][];
    pix.forEach((p, i) => {
      const row = lab[i];
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(row.reduce((s, v, j) => s + v * j, 0)).toBeCloseTo(p, 4); // pixel value = label-weighted class index
    });
  });

  test('CutMix: the pasted box\'s area share is the partner\'s label weight', () => {
    manualSeed(3);
    const { img: m, label } = new BatchCutMix(1, 4, 1).apply(img, labels);
    const px = m.arraySync() as number[][][][];
    const lab = label.arraySync() as number[][];
    for (let i = 0; i < 4; i++) {
      const other = px[i].flat(2).filter((v) => v !== i);
      const own = lab[i][i];
      if (other.length > 0) expect(1 - other.length / 64).toBeCloseTo(own, 5);
      else expect(own).toBeCloseTo(1, 5);
    }
  });

  test('Augments picks by prob; bad configs are one line', () => {
    expect(() => new Augments([{ type: 'BatchMixup', alpha: 0.8, num_classes: 4, prob: 0.7 }, { type: 'BatchCutMix', alpha: 1, num_classes: 4, prob: 0.7 }])).toThrow(/probs sum to 1.4/);
    expect(() => new Augments([{ type: 'BatchFoo', alpha: 1, num_classes: 4 }])).toThrow(/unknown type "BatchFoo"/);
    const none = new Augments([{ type: 'BatchMixup', alpha: 0.8, num_classes: 4, prob: 0 }]).apply(img, labels);
    expect(none.label.arraySync()).toEqual([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
  });
});

test('MIMVisionTransformer: class token after the final norm, or fc_norm of the mean patch token', () => {
  manualSeed(0);
  const x = tf.randomNormal([2, 8, 8, 3]) as Tensor4D;
  const cls = new MIMVisionTransformer({ ...tinyVit, final_norm: true });
  const [c] = cls.forward(x) as unknown as Tensor2D[];
  const [patch, token] = cls.constructor.prototype.__proto__.forward.call(cls, x).at(-1) as [Tensor4D, Tensor2D];
  expect(c.shape).toEqual([2, 8]);
  expect(tf.max(tf.abs(tf.sub(c, token))).dataSync()[0]).toBe(0);
  const pool = new MIMVisionTransformer({ ...tinyVit, final_norm: false });
  expect(pool.ln1).toBeNull();
  pool.loadStateDict(new Map([...cls.stateDict()].filter(([k]) => !k.startsWith('ln1.'))), { strict: false });
  const [p] = pool.forward(x) as unknown as Tensor2D[];
  const raw = (pool.constructor.prototype.__proto__.forward.call(pool, x).at(-1) as Tensor4D[])[0];
  expect(tf.max(tf.abs(tf.sub(p, pool.fcNorm!.forward(tf.mean(raw, [1, 2]))))).dataSync()[0]).toBeLessThan(1e-6);
  expect(patch.shape).toEqual([2, 2, 2, 8]);
  // use_window (the -rpe config): relative position bias per layer; qkv_bias=False then has no q/v biases either
  const rpe = new MIMVisionTransformer({ ...tinyVit, use_window: true, init_values: 0.1, qkv_bias: false });
  expect(rpe.namedParameters().map(([n]) => n).filter((n) => n.startsWith('layers.0.'))).toEqual(expect.arrayContaining(['layers.0.attn.relative_position_bias_table', 'layers.0.gamma_1', 'layers.0.gamma_2']));
  expect(rpe.namedParameters().some(([n]) => /q_bias|qkv\.bias/.test(n))).toBe(false);
  rpe.dispose();
});
