import type { FeatureMatrix } from './feature-matrix.js';

export interface ClusterOptions {
  /** Seed of the clustering's random draws (MMSelfSup draws `np.random.randint(1234)` per run). */
  seed?: number;
  log?: (m: string) => void;
}

/**
 * What MMSelfSup's hooks use of a clustering tool (`Kmeans`, `PIC` in `mmselfsup/utils/clustering.py`):
 * `cluster(features)` returns the clustering loss and leaves one label per row in `labels`.
 */
export interface ClusteringTool {
  labels: Int32Array | null;
  cluster(features: FeatureMatrix, o?: ClusterOptions): number;
}
