import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../src/engine/layers/pooling.js';
import { manualSeed, normalArray } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';

/** Naive NHWC pooling with symmetric padding p: max treats padding as -inf, avg ignores nothing (p = 0 only). */
function naivePool(x: Float32Array, [n, h, w, c]: number[], k: number, s: number, p: number, op: 'max' | 'avg'): Float32Array {
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const out = new Float32Array(n * oh * ow * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let acc = op === 'max' ? -Infinity : 0;
          for (let di = 0; di < k; di++)
            for (let dj = 0; dj < k; dj++) {
              const y = i * s + di - p;
              const xx = j * s + dj - p;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              const v = x[((b * h + y) * w + xx) * c + ch];
              acc = op === 'max' ? Math.max(acc, v) : acc + v;
            }
          out[((b * oh + i) * ow + j) * c + ch] = op === 'max' ? acc : acc / (k * k);
        }
  return out;
}

describe('pooling layers (NHWC, PyTorch arguments)', () => {
  beforeAll(() => tf.setBackend('cpu'));
  manualSeed(5);
  const shape = [2, 7, 6, 3];
  const xs = new Float32Array(normalArray(2 * 7 * 6 * 3, 0, 1));

  test('MaxPool2d(3, 2, 1) (ResNet stem) pads with -inf', () => {
    const y = new MaxPool2d(3, 2, 1).forward(tf.tensor4d(xs, shape as never));
    expect(y.shape).toEqual([2, 4, 3, 3]);
    expect(Array.from(y.dataSync())).toEqual(Array.from(naivePool(xs, shape, 3, 2, 1, 'max')));
  });

  test('AvgPool2d(2) and AdaptiveAvgPool2d', () => {
    const y = new AvgPool2d(2).forward(tf.tensor4d(xs, shape as never));
    expect(y.shape).toEqual([2, 3, 3, 3]);
    const ref = naivePool(xs, shape, 2, 2, 0, 'avg');
    y.dataSync().forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
    const g = new AdaptiveAvgPool2d().forward(tf.tensor4d(xs, shape as never));
    expect(g.shape).toEqual([2, 1, 1, 3]);
    // image 0, channel 0: mean over its 7×6 positions
    const first = xs.slice(0, 7 * 6 * 3).filter((_, k) => k % 3 === 0);
    expect(g.dataSync()[0]).toBeCloseTo(first.reduce((a, b) => a + b, 0) / 42, 5);
  });
});
