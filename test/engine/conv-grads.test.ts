import { tf } from '../../src/engine/tf.js';
import { registerWasmKernels } from '../../src/engine/wasm/index.js';
import { conv2d, type Conv2dOptions } from '../../src/engine/ops/conv.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { relErr } from './rel-err.js';
import { describeEachEngine } from './backends-under-test.js';


interface Case {
  name: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  opts: Conv2dOptions;
}

const cases: Case[] = [
  { name: '3x3 s1 pad1', x: [2, 8, 8, 4], k: 3, cout: 5, opts: { stride: 1, padding: 1 } },
  { name: '3x3 s2 pad1', x: [2, 9, 9, 3], k: 3, cout: 4, opts: { stride: 2, padding: 1 } },
  { name: '3x3 s2 same', x: [2, 8, 7, 3], k: 3, cout: 4, opts: { stride: 2, padding: 'same' } },
  { name: '3x3 s1 valid', x: [1, 7, 6, 2], k: 3, cout: 3, opts: { stride: 1, padding: 'valid' } },
  { name: '1x1 s1', x: [2, 5, 5, 6], k: 1, cout: 8, opts: {} },
  { name: '1x1 s2 (downsample)', x: [2, 8, 8, 6], k: 1, cout: 8, opts: { stride: 2 } },
  { name: '7x7 s2 pad3 (stem)', x: [1, 16, 16, 3], k: 7, cout: 4, opts: { stride: 2, padding: 3 } },
  { name: '3x3 s2 valid odd', x: [1, 10, 11, 2], k: 3, cout: 3, opts: { stride: 2, padding: 'valid' } },
  // Over 8 input channels the filter gradient is a forward conv; at 8 and below, per-tap products.
  { name: '3x3 s1 pad1, 12 channels', x: [2, 6, 6, 12], k: 3, cout: 5, opts: { stride: 1, padding: 1 } },
  { name: '3x3 s2 pad1, 12 channels', x: [2, 9, 9, 12], k: 3, cout: 5, opts: { stride: 2, padding: 1 } },
  { name: '3x3 s2 valid odd, 9 channels', x: [1, 10, 11, 9], k: 3, cout: 3, opts: { stride: 2, padding: 'valid' } },
  { name: '3x3 dilation 2, 10 channels', x: [1, 9, 9, 10], k: 3, cout: 3, opts: { padding: 2, dilation: 2 } },
  { name: 'grouped 3x3 s1 groups 4 (ResNeXt)', x: [2, 6, 6, 8], k: 3, cout: 8, opts: { stride: 1, padding: 1, groups: 4 } },
  { name: 'grouped 3x3 s2 groups 2', x: [1, 7, 7, 4], k: 3, cout: 6, opts: { stride: 2, padding: 1, groups: 2 } },
  { name: 'depthwise 3x3 s1', x: [2, 6, 6, 4], k: 3, cout: 4, opts: { stride: 1, padding: 1, groups: 4 } },
  { name: 'depthwise x2 multiplier 3x3 s2', x: [1, 7, 7, 3], k: 3, cout: 6, opts: { stride: 2, padding: 1, groups: 3 } },
];

function grads(backend: string, c: Case, xs: Float32Array, ws: Float32Array, dys: Float32Array, wShape: number[], dyShape: number[]) {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x);
    const w = tf.tensor4d(ws, wShape as [number, number, number, number]);
    const dy = tf.tensor4d(dys, dyShape as [number, number, number, number]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.opts), dy));
    const [dx, dw] = tf.grads(f)([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, dxShape: dx.shape, dwShape: dw.shape };
  });
}

describeEachEngine('conv2d gradients equal the cpu backend (wasm: forward-conv formulation; native: oneDNN backprop)', () => {
  beforeAll(() => registerWasmKernels());

  test.each(cases)('$name', (c) => {
    manualSeed(1);
    const groups = c.opts.groups ?? 1;
    const wShape = [c.k, c.k, c.x[3] / groups, c.cout];
    const xs = normalArray(c.x.reduce((a, b) => a * b), 0, 1);
    const ws = normalArray(wShape.reduce((a, b) => a * b), 0, 1);
    tf.setBackend('cpu');
    const yShape = tf.tidy(() => conv2d(tf.tensor4d(xs, c.x), tf.tensor4d(ws, wShape as never), c.opts).shape);
    const dys = normalArray(yShape.reduce((a, b) => a * b), 0, 1);
    const ref = grads('cpu', c, xs, ws, dys, wShape, yShape);
    const got = grads('wasm', c, xs, ws, dys, wShape, yShape);
    expect(got.dxShape).toEqual(c.x);
    expect(got.dwShape).toEqual(wShape);
    expect(relErr(got.dx, ref.dx)).toBeLessThan(1e-4);
    expect(relErr(got.dw, ref.dw)).toBeLessThan(1e-4);
  });

  test('dilated conv (which tfjs cannot differentiate) matches a zero-inserted undilated filter', () => {
    manualSeed(2);
    const xShape: [number, number, number, number] = [1, 9, 9, 2];
    const d = 2;
    const xs = normalArray(xShape.reduce((a, b) => a * b), 0, 1);
    const ws = normalArray(3 * 3 * 2 * 3, 0, 1);
    for (const backend of ['wasm', 'cpu']) {
      tf.setBackend(backend);
      tf.tidy(() => {
        const x = tf.tensor4d(xs, xShape);
        const w = tf.tensor4d(ws, [3, 3, 2, 3]);
        const dy = tf.randomNormal([1, 9, 9, 3], 0, 1, 'float32', 7);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { padding: d, dilation: d }), dy)))([x, w]);
        // Reference on cpu: the same conv with a 5x5 filter holding zeros between the taps.
        tf.setBackend('cpu');
        const [rdx, rwBig] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
          const spread = tf.reshape(tf.pad(tf.reshape(b, [3, 1, 3, 1, 2, 3]), [[0, 0], [0, 1], [0, 0], [0, 1], [0, 0], [0, 0]]), [6, 6, 2, 3]);
          const big = tf.slice(spread, [0, 0, 0, 0], [5, 5, 2, 3]) as tf.Tensor4D;
          return tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, big, 1, [[0, 0], [2, 2], [2, 2], [0, 0]]), dy));
        })([x, w]);
        expect(relErr(dx.dataSync() as Float32Array, rdx.dataSync() as Float32Array)).toBeLessThan(1e-4);
        expect(relErr(dw.dataSync() as Float32Array, rwBig.dataSync() as Float32Array)).toBeLessThan(1e-4);
        tf.setBackend(backend);
      });
    }
  });
});
