import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { ConfigError } from '../../errors.js';
import { tf } from '../../engine/tf.js';
import { rowBlocks, type FeatureMatrix } from './feature-matrix.js';

/**
 * PCA to `outDim` dimensions with whitening: faiss's `PCAMatrix(d_in, d_out, eigen_power=-0.5)` as
 * MMSelfSup's `preprocess_features` trains and applies it. `y = A (x - mean)`, where the rows of `A`
 * are the covariance's leading eigenvectors scaled by `(eigenvalue + epsilon)^-0.5`.
 *
 * The covariance is divided by `n` (faiss does not divide; sklearn divides by `n - 1`): the three
 * differ by one factor for every component, which the L2 normalisation that follows removes.
 * The eigen-decomposition is ml-matrix's (float64, symmetric), on a `d_in × d_in` matrix.
 */
export class PCAWhitening {
  readonly mean: Float64Array;
  /** `[outDim, inDim]` row-major: whitened eigenvectors. */
  readonly projection: Float32Array;
  /** The leading `outDim` eigenvalues of the covariance, largest first. */
  readonly eigenvalues: Float64Array;

  private constructor(readonly inDim: number, readonly outDim: number, mean: Float64Array, projection: Float32Array, eigenvalues: Float64Array) {
    this.mean = mean;
    this.projection = projection;
    this.eigenvalues = eigenvalues;
  }

  /** Fits the mean, the covariance and its eigenvectors on `x`. */
  static train(x: FeatureMatrix, outDim: number, epsilon = 0): PCAWhitening {
    const { rows: n, cols: d } = x;
    if (!(Number.isInteger(outDim) && outDim > 0 && outDim <= d)) {
      throw new ConfigError(`PCA: pca_dim must be an integer in [1, ${d}] (the feature dimension) or -1 (no PCA), got ${String(outDim)}`);
    }
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x.data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    const cov = covariance(x, mean);
    const evd = new EigenvalueDecomposition(new Matrix(cov), { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const vectors = evd.eigenvectorMatrix;
    const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a]).slice(0, outDim);
    const eigenvalues = Float64Array.from(order, (i) => values[i]);
    const rank = eigenvalues.findIndex((v) => !(v + epsilon > 0));
    if (rank >= 0) {
      throw new ConfigError(`PCA: the ${n} features span only ${rank} dimensions, fewer than pca_dim ${outDim}; lower pca_dim (or set it to -1)`);
    }
    const projection = new Float32Array(outDim * d);
    order.forEach((col, r) => {
      const scale = (eigenvalues[r] + epsilon) ** -0.5;
      for (let j = 0; j < d; j++) projection[r * d + j] = vectors.get(j, col) * scale;
    });
    return new PCAWhitening(d, outDim, mean, projection, eigenvalues);
  }

  /** `[n, outDim]` whitened projections of the rows of `x`. */
  apply(x: FeatureMatrix): FeatureMatrix {
    if (x.cols !== this.inDim) throw new ConfigError(`PCA: trained on ${this.inDim}-d features, got ${x.cols}-d`);
    const out = new Float32Array(x.rows * this.outDim);
    const a = tf.tensor2d(this.projection, [this.outDim, this.inDim]);
    const mean = tf.tensor1d(Float32Array.from(this.mean));
    try {
      for (const [s, e] of rowBlocks(x.rows, Math.max(x.cols, this.outDim))) {
        const y = tf.tidy(() => tf.matMul(tf.sub(tf.tensor2d(x.data.subarray(s * x.cols, e * x.cols), [e - s, x.cols]), mean), a, false, true));
        out.set(y.dataSync() as Float32Array, s * this.outDim);
        y.dispose();
      }
    } finally {
      a.dispose();
      mean.dispose();
    }
    return { data: out, rows: x.rows, cols: this.outDim };
  }
}

/** `[d, d]` covariance of the rows of `x` about `mean` (divided by n), summed in float64 over row blocks. */
function covariance(x: FeatureMatrix, mean: Float64Array): number[][] {
  const { rows: n, cols: d } = x;
  const acc = new Float64Array(d * d);
  const m = tf.tensor1d(Float32Array.from(mean));
  try {
    for (const [s, e] of rowBlocks(n, d)) {
      const c = tf.tidy(() => {
        const xc = tf.sub(tf.tensor2d(x.data.subarray(s * d, e * d), [e - s, d]), m);
        return tf.matMul(xc, xc, true, false);
      });
      const v = c.dataSync();
      c.dispose();
      for (let i = 0; i < acc.length; i++) acc[i] += v[i];
    }
  } finally {
    m.dispose();
  }
  const out: number[][] = [];
  for (let i = 0; i < d; i++) out.push(Array.from(acc.subarray(i * d, i * d + d), (v) => v / n));
  return out;
}
