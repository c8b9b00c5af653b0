import { ConfigError } from '../../errors.js';
import type { FeatureMatrix } from './feature-matrix.js';
import { PCAWhitening } from './pca-whitening.js';

/**
 * MMSelfSup's `preprocess_features(npdata, pca)`: PCA-whitening to `pcaDim` dimensions (skipped for
 * -1), then each row divided by its L2 norm + 1e-10. NaN in the input is an error; NaN after the PCA
 * is set to 0 when at most 0.1% of the values, an error otherwise (as MMSelfSup).
 */
export function preprocessFeatures(x: FeatureMatrix, pcaDim: number): FeatureMatrix {
  if (x.data.some(Number.isNaN)) throw new ConfigError('clustering: the features contain NaN (the network diverged?)');
  let y = x;
  if (pcaDim !== -1) {
    y = PCAWhitening.train(x, pcaDim).apply(x);
    let bad = 0;
    for (let i = 0; i < y.data.length; i++) if (!Number.isFinite(y.data[i])) bad++;
    if (bad > 0) {
      const percent = (bad / y.data.length) * 100;
      if (percent > 0.1) throw new ConfigError(`clustering: ${percent.toFixed(3)}% of the PCA outputs are not finite (more than 0.1%); lower pca_dim`);
      for (let i = 0; i < y.data.length; i++) if (!Number.isFinite(y.data[i])) y.data[i] = 0;
    }
  } else {
    y = { data: Float32Array.from(x.data), rows: x.rows, cols: x.cols };
  }
  const d = y.cols;
  for (let r = 0; r < y.rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += y.data[r * d + j] * y.data[r * d + j];
    const inv = 1 / (Math.sqrt(s) + 1e-10);
    for (let j = 0; j < d; j++) y.data[r * d + j] *= inv;
  }
  return y;
}
