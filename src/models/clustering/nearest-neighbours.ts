import { tf } from '../../engine/tf.js';
import { rowBlocks, type FeatureMatrix } from './feature-matrix.js';

/**
 * The `nn` points of `base` nearest to each row of `query` by squared L2 distance, nearest first
 * (faiss `IndexFlatL2.search`: distances are ‖q‖² + ‖b‖² − 2 q·b, computed by matrix products in
 * row blocks). Returns `[query.rows, nn]` ids and squared distances.
 */
export function searchL2(query: FeatureMatrix, base: FeatureMatrix, nn: number): { ids: Int32Array; dists: Float32Array } {
  const d = query.cols;
  const ids = new Int32Array(query.rows * nn);
  const dists = new Float32Array(query.rows * nn);
  const b = tf.tensor2d(base.data, [base.rows, d]);
  const bNorm = tf.tidy(() => tf.sum(tf.square(b), 1));
  try {
    for (const [s, e] of rowBlocks(query.rows, Math.max(d, base.rows))) {
      const [negD, idx] = tf.tidy(() => {
        const q = tf.tensor2d(query.data.subarray(s * d, e * d), [e - s, d]);
        const qNorm = tf.sum(tf.square(q), 1, true);
        const dist = tf.sub(tf.add(qNorm, bNorm), tf.mul(2, tf.matMul(q, b, false, true)));
        if (nn === 1) return [tf.neg(tf.min(dist, 1, true)), tf.reshape(tf.cast(tf.argMin(dist, 1), 'int32'), [e - s, 1])];
        const top = tf.topk(tf.neg(dist), nn, true);
        return [top.values, top.indices];
      });
      const dv = negD.dataSync();
      ids.set(idx.dataSync() as Int32Array, s * nn);
      for (let i = 0; i < dv.length; i++) dists[s * nn + i] = Math.max(0, -dv[i]);
      negD.dispose();
      idx.dispose();
    }
  } finally {
    b.dispose();
    bNorm.dispose();
  }
  return { ids, dists };
}
