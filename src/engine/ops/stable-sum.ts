import { tf, type Tensor } from '../tf.js';

/**
 * Sum over `axes` one axis at a time (last first), so that each float32 accumulation runs over one
 * dimension (≤ a few hundred terms) instead of all of them at once.
 *
 * Why: the wasm backend's Sum adds the N·H·W terms of a channel sequentially in float32; over
 * 10⁵ terms of mixed sign the error of a BatchNorm mean reached 3e-4 relative (Fashion-MNIST
 * SimCLR stem), and the gradients built on it were 1% off PyTorch's. Summing axis by axis is a
 * blocked (pairwise-like) summation: the error grows with the largest axis, not the product.
 * @param x any rank
 * @param axes distinct axes to reduce (any order); `keepDims` as in `tf.sum`
 */
export function stableSum(x: Tensor, axes: number[], keepDims = false): Tensor {
  const sorted = [...axes].map((a) => (a < 0 ? a + x.rank : a)).sort((a, b) => b - a);
  return tf.tidy(() => {
    let y = x;
    for (const a of sorted) y = tf.sum(y, a, keepDims);
    return y === x ? tf.clone(x) : y;
  });
}

/** Mean and biased variance over `axes` with {@link stableSum}; shapes as `tf.moments` (no keepDims). */
export function stableMoments(x: Tensor, axes: number[]): { mean: Tensor; variance: Tensor } {
  return tf.tidy(() => {
    const count = axes.reduce((n, a) => n * x.shape[a < 0 ? a + x.rank : a], 1);
    const meanKept = tf.div(stableSum(x, axes, true), count);
    const variance = tf.div(stableSum(tf.square(tf.sub(x, meanKept)), axes), count);
    return { mean: tf.reshape(meanKept, variance.shape), variance };
  });
}
