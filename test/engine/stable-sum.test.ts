import { initBackend } from '../../src/engine/backend.js';
import { BatchNorm } from '../../src/engine/layers/batch-norm.js';
import { stableMoments, stableSum } from '../../src/engine/ops/stable-sum.js';
import { tf } from '../../src/engine/tf.js';

// A BatchNorm input like a ResNet stem's on a 128-image 28×28 batch: 10⁵ values per channel whose
// mean is small next to their spread, where one float32 running sum loses ~3e-4 of the mean.
const [N, H, W, C] = [128, 28, 28, 4];
function input(): { data: Float32Array; mean: Float64Array; variance: Float64Array } {
  const data = new Float32Array(N * H * W * C);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (s * 16807) % 2147483647;
    data[i] = (s / 2147483647 - 0.5) * 0.9 + 0.001 * (i % C);
  }
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const m = N * H * W;
  for (let i = 0; i < data.length; i++) mean[i % C] += data[i] / m;
  for (let i = 0; i < data.length; i++) variance[i % C] += (data[i] - mean[i % C]) ** 2 / m;
  return { data, mean, variance };
}

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>) => Math.max(...Array.from(want, (w, i) => Math.abs(got[i] - w) / Math.abs(w)));

describe('stableSum / stableMoments on wasm (float64 reference)', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: () => {} });
  });

  it('channel means of 10⁵ terms agree with float64 to 1e-5 (one running float32 sum does not)', () => {
    const { data, mean } = input();
    const x = tf.tensor4d(data, [N, H, W, C]);
    const stable = Array.from(stableSum(x, [0, 1, 2]).dataSync(), (v) => v / (N * H * W));
    const naive = Array.from(tf.sum(x, [0, 1, 2]).dataSync(), (v) => v / (N * H * W));
    expect(maxRel(stable, mean)).toBeLessThan(1e-5);
    expect(maxRel(naive, mean)).toBeGreaterThan(maxRel(stable, mean));
  });

  it('moments and a training-mode BatchNorm use the accurate statistics', () => {
    const { data, mean, variance } = input();
    const x = tf.tensor4d(data, [N, H, W, C]);
    const m = stableMoments(x, [0, 1, 2]);
    expect(maxRel(m.mean.dataSync(), mean)).toBeLessThan(1e-5);
    expect(maxRel(m.variance.dataSync(), variance)).toBeLessThan(1e-5);
    expect(stableSum(x, [2, 0], true).shape).toEqual([1, H, 1, C]);
    const bn = new BatchNorm(C, { momentum: 1 });
    bn.train(true);
    bn.forward(x).dispose();
    expect(maxRel(bn.runningMean!.dataSync(), mean)).toBeLessThan(1e-5);
  });
});
