import { readFileSync } from 'node:fs';
import { initBackend } from '../../src/engine/backend.js';
import { tf, type Tensor4D } from '../../src/engine/tf.js';
import { AdaptiveAvgPool2d, AvgPool2d } from '../../src/engine/layers/pooling.js';
import { MultiPooling } from '../../src/models/heads/multi-pooling.js';
import { flattenChw, MultiClsHead } from '../../src/models/heads/multi-cls-head.js';
import { buildModel } from '../../src/models/index.js';
import { Classification } from '../../src/models/algorithms/classification.js';

interface Fixture {
  channels: number;
  spatial: number[];
  specified: { shape: number[]; flat: number[] }[];
  adaptive: { shape: number[]; flat: number[] }[];
}
beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

const fx = JSON.parse(readFileSync(new URL('../fixtures/torch/multi-pooling.json', import.meta.url), 'utf8')) as Fixture;

/** The fixture's input of a stage, NHWC: x[0, c, h, w] = sin(0.37 * flat_nchw_index + stage). */
function stageInput(stage: number): Tensor4D {
  const s = fx.spatial[stage];
  const c = fx.channels;
  const nhwc = new Float32Array(c * s * s);
  for (let ch = 0; ch < c; ch++) for (let h = 0; h < s; h++) for (let w = 0; w < s; w++) nhwc[(h * s + w) * c + ch] = Math.sin(0.37 * ((ch * s + h) * s + w) + stage);
  return tf.tensor4d(nhwc, [1, s, s, c]);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('MultiPooling against PyTorch (tools/multi-pooling-reference.py)', () => {
  for (const poolType of ['specified', 'adaptive'] as const) {
    it(`${poolType}: every ResNet-50 stage pools to MMSelfSup's sizes, values and NCHW flatten order as torch`, () => {
      const pool = new MultiPooling(poolType, [0, 1, 2, 3, 4], 'resnet50');
      const inputs = [0, 1, 2, 3, 4].map(stageInput);
      const outs = pool.forward(inputs);
      outs.forEach((o, stage) => {
        const ref = fx[poolType][stage];
        expect([o.shape[0], o.shape[3], o.shape[1], o.shape[2]]).toEqual(ref.shape);
        expect(o.shape[1]).toBe(MultiPooling.POOL_SIZES.resnet50[stage]);
        const flat = flattenChw(o);
        expect(maxDiff(flat.dataSync(), ref.flat)).toBeLessThan(1e-5);
        // at full width the pooled size is MMSelfSup's POOL_DIMS
        expect(MultiPooling.POOL_SIZES.resnet50[stage] ** 2 * [64, 256, 512, 1024, 2048][stage]).toBe(MultiPooling.POOL_DIMS.resnet50[stage]);
        flat.dispose();
      });
      tf.dispose([...inputs, ...outs]);
    });
  }

  it('AvgPool2d counts padded zeros (count_include_pad), AdaptiveAvgPool2d uses floor/ceil bins', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    // kernel 2, stride 2, padding 1 over [[1,2,3],[4,5,6],[7,8,9]] padded with zeros: windows of 4 cells each
    expect(Array.from(new AvgPool2d(2, 2, 1).forward(x).dataSync())).toEqual([1 / 4, (2 + 3) / 4, (4 + 7) / 4, (5 + 6 + 8 + 9) / 4]);
    // 3 -> 2 bins: rows 0..1 and 1..2 (overlapping), as torch
    expect(Array.from(new AdaptiveAvgPool2d(2).forward(x).dataSync())).toEqual([3, 4, 6, 7]);
    x.dispose();
  });
});

describe('MultiClsHead', () => {
  it("has MMSelfSup's parameter names and sizes, a loss and accuracy per classifier, and head<i> outputs in Classification", () => {
    const head = new MultiClsHead({ pool_type: 'specified', in_indices: [0, 4], backbone: 'resnet50', norm_cfg: { type: 'SyncBN', momentum: 0.1, affine: false }, num_classes: 7 });
    const names = head.namedParameters().map(([n, v]) => `${n}:${v.shape.join('x')}`);
    expect(names).toEqual(['fcs.0.weight:9216x7', 'fcs.0.bias:7', 'fcs.1.weight:8192x7', 'fcs.1.bias:7']);
    expect(head.namedBuffers().map(([n]) => n)).toEqual(expect.arrayContaining(['norms.0.running_mean', 'norms.1.running_var']));
    const feats = [tf.randomNormal([2, 112, 112, 64]), tf.randomNormal([2, 7, 7, 2048])] as Tensor4D[];
    const scores = head.forward(feats);
    expect(scores.map((s) => s.shape)).toEqual([[2, 7], [2, 7]]);
    const losses = head.loss(scores, tf.tensor1d([1, 3], 'int32'));
    expect(Object.keys(losses)).toEqual(['loss.1', 'acc.1', 'loss.2', 'acc.2']);
    // cross-entropy of each classifier's own scores, computed independently
    scores.forEach((sc, k) => {
      const v = sc.dataSync();
      const ce = [1, 3].reduce((acc, label, r) => {
        const row = Array.from(v.subarray(r * 7, r * 7 + 7));
        const m = Math.max(...row);
        return acc + (Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0)) + m - row[label]) / 2;
      }, 0);
      expect(losses[`loss.${k + 1}`].dataSync()[0]).toBeCloseTo(ce, 4);
    });
    tf.dispose([...feats, ...scores, ...Object.values(losses)]);

    const model = buildModel({
      type: 'Classification',
      backbone: { type: 'ResNet', depth: 50, num_stages: 1, out_indices: [0, 1], frozen_stages: 1 },
      head: { type: 'MultiClsHead', pool_type: 'specified', in_indices: [0, 1], backbone: 'resnet50', norm_cfg: { type: 'BN', affine: false }, num_classes: 5 },
    }) as Classification;
    const out = tf.tidy(() => model.forwardTest([tf.randomNormal([1, 224, 224, 3])]));
    expect(Object.keys(out)).toEqual(['head0', 'head1']);
    expect(out.head1.shape).toEqual([1, 5]);
    tf.dispose(Object.values(out));
    model.dispose();
  });
});
