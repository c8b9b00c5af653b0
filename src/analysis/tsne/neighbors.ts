import { tf } from '../../engine/tf.js';

/**
 * The `k` nearest neighbours of every row of `x` (n × dim, row-major) by Euclidean distance,
 * the point itself excluded: indices and squared distances, row-major n × k, nearest first.
 * Exact: blocks of ‖a‖² − 2a·b + ‖b‖² through the engine's matmul, then top-k.
 */
export function nearestNeighbors(x: Float32Array, n: number, dim: number, k: number, block = 512): { nbrs: Int32Array; dist2: Float32Array } {
  const nbrs = new Int32Array(n * k);
  const dist2 = new Float32Array(n * k);
  const all = tf.tensor2d(x, [n, dim]);
  const sq = tf.tidy(() => tf.sum(tf.square(all), 1));
  const allT = tf.transpose(all);
  try {
    for (let start = 0; start < n; start += block) {
      const rows = Math.min(block, n - start);
      const { values, indices } = tf.tidy(() => {
        const a = tf.slice(all, [start, 0], [rows, dim]);
        const an = tf.slice(sq, [start], [rows]);
        const d = tf.add(tf.sub(tf.reshape(an, [rows, 1]), tf.mul(2, tf.matMul(a, allT))), tf.reshape(sq, [1, n]));
        // the point itself must not be its own neighbour: push the diagonal out of reach
        const self = tf.oneHot(tf.range(start, start + rows, 1, 'int32'), n);
        return tf.topk(tf.neg(tf.add(d, tf.mul(self, 1e30))), k, true);
      });
      const v = values.dataSync();
      const idx = indices.dataSync();
      values.dispose();
      indices.dispose();
      for (let e = 0; e < rows * k; e++) {
        nbrs[start * k + e] = idx[e];
        dist2[start * k + e] = Math.max(0, -v[e]);
      }
    }
  } finally {
    all.dispose();
    sq.dispose();
    allT.dispose();
  }
  return { nbrs, dist2 };
}
