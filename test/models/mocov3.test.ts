/**
 * MoCo v3's parts that the PyTorch replay (torch-algorithms.test.ts) does not isolate: the head's
 * labels on a rank other than 0, the frozen patch projection and position embedding of
 * stop_grad_conv1, the state dict, MomentumUpdateHook's schedule on it, NonLinearNeck's vit_backbone.
 */
import { initBackend } from '../../src/engine/backend.js';
import { tf } from '../../src/engine/tf.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { buildModel, HEADS, NECKS } from '../../src/models/index.js';
import type { MoCoV3 } from '../../src/models/algorithms/mocov3.js';
import type { MoCoV3Head } from '../../src/models/heads/mocov3-head.js';
import { MomentumUpdateHook } from '../../src/runner/hooks/momentum-update-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';

const predictor = { type: 'NonLinearNeck', in_channels: 8, hid_channels: 16, out_channels: 8, num_layers: 2, with_avg_pool: false, with_last_bn_affine: false };
const cfg = {
  type: 'MoCoV3', base_momentum: 0.9,
  backbone: { type: 'VisionTransformer', arch: { embed_dims: 16, num_layers: 1, num_heads: 2, feedforward_channels: 32 }, img_size: 8, patch_size: 4, stop_grad_conv1: true },
  neck: { type: 'NonLinearNeck', in_channels: 16, hid_channels: 16, out_channels: 8, num_layers: 3, with_avg_pool: false, with_last_bn_affine: false, vit_backbone: true },
  head: { type: 'MoCoV3Head', predictor, temperature: 0.2 },
};
const view = (salt: number) => ({ data: Float32Array.from({ length: 4 * 8 * 8 * 3 }, (_, i) => Math.sin(0.37 * i + salt)), shape: [4, 8, 8, 3] });

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('MoCoV3Head: 2·T·cross-entropy of normalised predictions against every rank\'s targets, positives at i + N·rank', () => {
  const head = HEADS.build({ type: 'MoCoV3Head', predictor, temperature: 0.5 }) as MoCoV3Head;
  head.eval();
  const base = tf.randomNormal([3, 8], 0, 1, 'float32', 1);
  const targets = tf.randomNormal([6, 8], 0, 1, 'float32', 2); // 2 ranks × 3
  const pred = tf.tidy(() => head.predictor.forward([base])[0]);
  const naive = (rank: number) => {
    const p = pred.arraySync() as number[][];
    const t = targets.arraySync() as number[][];
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    let sum = 0;
    p.forEach((row, i) => {
      const logits = t.map((c) => unit(row).reduce((a, x, j) => a + x * unit(c)[j], 0) / 0.5);
      const lse = Math.log(logits.reduce((a, l) => a + Math.exp(l), 0));
      sum += lse - logits[i + 3 * rank];
    });
    return (2 * 0.5 * sum) / p.length;
  };
  for (const rank of [0, 1]) expect(head.forward(base, targets, rank).loss.dataSync()[0]).toBeCloseTo(naive(rank), 5);
  expect(() => HEADS.build({ type: 'MoCoV3Head', predictor, temperature: 0 })).toThrow(/MoCoV3Head: temperature must be > 0/);
  expect(() => HEADS.build({ type: 'MoCoV3Head', temperature: 0.2 })).toThrow(/MoCoV3Head needs a "predictor"/);
});

test('state dict, frozen patch projection and position embedding (stop_grad_conv1, sin-cos), momentum encoder outside the gradient', async () => {
  const model = buildModel(cfg) as unknown as MoCoV3;
  const names = [...model.stateDict().keys()];
  expect(names.filter((n) => n.startsWith('head.')).slice(0, 2)).toEqual(['head.predictor.fc0.weight', 'head.predictor.bn0.weight']);
  expect(names).toEqual(expect.arrayContaining(['base_encoder.0.patch_embed.projection.weight', 'momentum_encoder.1.fc2.weight', 'base_encoder.0.cls_token']));
  expect(names).not.toContain('base_encoder.1.bn2.weight'); // with_last_bn_affine=False
  expect(model.stateDictAliases()).toEqual({ backbone: 'base_encoder.0', neck: 'base_encoder.1' });
  const out = await model.trainStep({ views: [view(0), view(1)] }, { dist: singleProcessContext() });
  const grads = [...out.grads.keys()];
  for (const g of out.grads.values()) g.dispose();
  expect(grads.some((n) => n.startsWith('momentum_encoder'))).toBe(false);
  expect(grads.filter((n) => /patch_embed|pos_embed/.test(n))).toEqual([]);
  expect(grads).toEqual(expect.arrayContaining(['base_encoder.0.cls_token', 'base_encoder.0.layers.0.attn.qkv.weight', 'head.predictor.fc1.weight']));
  expect(Number.isFinite(out.loss) && out.loss > 0).toBe(true);
  model.dispose();
});

test('MomentumUpdateHook drives MoCoV3: cosine momentum from base_momentum to 1, EMA of the base encoder after each iteration', () => {
  const model = buildModel(cfg) as unknown as MoCoV3;
  const runner = { model, iter: 0, maxIters: 4 } as unknown as BaseRunner & { iter: number };
  const hook = new MomentumUpdateHook('MomentumUpdateHook', {});
  const w = (prefix: string) => Object.fromEntries(model.namedParameters())[`${prefix}.1.fc0.weight`];
  tf.tidy(() => w('base_encoder').assign(tf.add(w('base_encoder'), 1)));
  const before = tf.clone(w('momentum_encoder'));
  const ms: number[] = [];
  for (let i = 0; i < 4; i++) {
    runner.iter = i;
    hook.beforeTrainIter(runner);
    ms.push(model.momentum);
  }
  expect(ms.map((m) => Number(m.toFixed(6)))).toEqual([0.9, 0.914645, 0.95, 0.985355]);
  hook.afterTrainIter(runner);
  // target = m·target + (1 − m)·(target + 1) = target + (1 − m)
  const moved = tf.sub(w('momentum_encoder'), before).dataSync();
  expect(Math.max(...moved.map((d) => Math.abs(d - (1 - ms[3]))))).toBeLessThan(1e-5);
  model.dispose();
});

test('NonLinearNeck: vit_backbone takes the class token of a ViT output; a mismatch either way is a one-line error', () => {
  const neck = NECKS.build({ type: 'NonLinearNeck', in_channels: 4, hid_channels: 4, out_channels: 2, with_avg_pool: false, vit_backbone: true, norm_cfg: { type: 'BN' } });
  const patch = tf.randomNormal([3, 2, 2, 4]);
  const cls = tf.randomNormal([3, 4]);
  const viaVit = neck.forward([[patch, cls] as never])[0];
  const plain = NECKS.build({ type: 'NonLinearNeck', in_channels: 4, hid_channels: 4, out_channels: 2, with_avg_pool: false, norm_cfg: { type: 'BN' } });
  plain.loadStateDict(neck.stateDict());
  expect(Math.max(...tf.abs(tf.sub(viaVit, plain.forward([cls])[0])).dataSync())).toBeLessThan(1e-6);
  expect(() => plain.forward([[patch, cls] as never])).toThrow(/NonLinearNeck: a ViT backbone gives \[patch tokens, class token\]; set vit_backbone=True/);
  expect(() => neck.forward([cls])).toThrow(/NonLinearNeck: vit_backbone=True needs a ViT backbone with output_cls_token=True/);
});
