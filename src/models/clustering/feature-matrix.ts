import { ConfigError } from '../../errors.js';

/** `rows` feature vectors of `cols` floats, row-major (MMSelfSup's `np.ndarray` N × dim, float32). */
export interface FeatureMatrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Wraps `data` as a `[rows, cols]` matrix after checking its length. */
export function featureMatrix(data: Float32Array, rows: number, cols: number): FeatureMatrix {
  if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0) || data.length !== rows * cols) {
    throw new ConfigError(`features: expected ${rows} × ${cols} floats, got ${data.length}`);
  }
  return { data, rows, cols };
}

/**
 * Row blocks of at most `maxFloats / cols` rows (at least one), so that a `[block, cols]` tensor and
 * its `[block, width]` products stay bounded whatever the number of rows.
 */
export function* rowBlocks(rows: number, rowFloats: number, maxFloats = 1 << 24): Generator<[start: number, end: number]> {
  const step = Math.max(1, Math.floor(maxFloats / Math.max(1, rowFloats)));
  for (let s = 0; s < rows; s += step) yield [s, Math.min(rows, s + step)];
}
