/** MMSelfSup's MMClsImageClassifierWrapper with mmcls.SwinTransformer / GlobalAveragePooling / LinearClsHead (the Swin fine-tuning configs). */
import { initBackend } from '../../src/engine/backend.js';
import { manualSeed } from '../../src/engine/random.js';
import { tf, type Tensor4D } from '../../src/engine/tf.js';
import type { MMClsImageClassifierWrapper } from '../../src/models/algorithms/mmcls-classifier-wrapper.js';
import { buildModel } from '../../src/models/index.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const cfg = (head: Record<string, unknown> = {}) => ({
  type: 'MMClsImageClassifierWrapper',
  backbone: { type: 'mmcls.SwinTransformer', arch: { embed_dims: 8, depths: [2, 2], num_heads: [1, 2] }, img_size: 32, window_size: 4, out_indices: [1], drop_path_rate: 0 },
  neck: { type: 'mmcls.GlobalAveragePooling' },
  head: { type: 'mmcls.LinearClsHead', num_classes: 3, in_channels: 16, loss: { type: 'mmcls.LabelSmoothLoss', label_smooth_val: 0.1, mode: 'original' }, ...head },
  init_cfg: [{ type: 'TruncNormal', layer: 'Linear', std: 0.02, bias: 0 }, { type: 'Constant', layer: 'LayerNorm', val: 1, bias: 0 }],
});

test('backbone -> global average pooling -> fc; label-smoothed cross-entropy; init_cfg on every Linear and LayerNorm', () => {
  manualSeed(0);
  const model = buildModel(cfg()) as MMClsImageClassifierWrapper;
  const names = model.namedParameters().map(([n]) => n);
  expect(names).toEqual(expect.arrayContaining(['head.fc.weight', 'head.fc.bias', 'backbone.stages.1.blocks.1.attn.w_msa.qkv.weight', 'backbone.norm1.weight']));
  const fcStd = tf.tidy(() => tf.moments(model.namedParameters().find(([n]) => n === 'head.fc.weight')![1]).variance.dataSync()[0] ** 0.5);
  expect(fcStd).toBeGreaterThan(0.01);
  expect(fcStd).toBeLessThan(0.03);
  expect(model.namedParameters().filter(([n]) => /qkv\.bias$/.test(n)).every(([, v]) => tf.tidy(() => tf.max(tf.abs(v)).dataSync()[0]) === 0)).toBe(true);
  tf.tidy(() => {
    const img = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as Tensor4D;
    const labels = tf.tensor1d([0, 2], 'int32');
    const logits = model.head.forward(model.extractFeat(img))[0];
    expect(logits.shape).toEqual([2, 3]);
    const feat = tf.mean(model.backbone.forward(img)[0], [1, 2]);
    expect(tf.max(tf.abs(tf.sub(model.neck.forward(model.backbone.forward(img))[0], feat))).dataSync()[0]).toBe(0);
    const smooth = tf.add(tf.mul(tf.oneHot(labels, 3), 0.9), 0.1 / 3);
    const want = tf.neg(tf.mean(tf.sum(tf.mul(smooth, tf.logSoftmax(logits)), 1))).dataSync()[0];
    expect(model.forwardTrain([img], labels).loss.dataSync()[0]).toBeCloseTo(want, 6);
  });
  model.dispose();
});

test('bad input: one line naming the key and values', () => {
  expect(() => buildModel(cfg({ loss: { type: 'mmcls.LabelSmoothLoss', label_smooth_val: 0.1, mode: 'multi_label' } }))).toThrow(
    "mmcls.LinearClsHead: LabelSmoothLoss mode \"multi_label\" is not supported; only 'original'",
  );
  expect(() => buildModel(cfg({ loss: { type: 'FocalLoss' } }))).toThrow(/loss "FocalLoss" with no arguments is not supported/);
  expect(() => buildModel({ ...cfg(), neck: undefined })).toThrow('MMClsImageClassifierWrapper needs a neck (e.g. mmcls.GlobalAveragePooling)');
  expect(() => buildModel({ ...cfg(), init_cfg: [{ type: 'Kaiming', layer: 'Conv2d' }] })).toThrow(/init_cfg \{"type":"Kaiming","layer":"Conv2d"\} is not supported/);
});
