import { kmeans } from 'ml-kmeans';
import { ConfigError } from '../../errors.js';
import type { FeatureMatrix } from './feature-matrix.js';

export interface SklearnKmeansOptions {
  /** Runs from different k-means++ seedings; the one of least inertia is kept (scikit-learn's `n_init`, 10 up to 1.3). */
  nInit?: number;
  /** Lloyd iterations of a run (`max_iter`). */
  maxIter?: number;
  /** Seed of the first run; run r uses seed + r (`random_state`). */
  seed?: number;
}

/**
 * k-means as scikit-learn's `KMeans(n_clusters=k, random_state=seed, max_iter=maxIter)` computes it (what
 * MMSelfSup's ODCMemory splits its largest cluster with): greedy k-means++ seeding (2 + ln k candidates per
 * centre, ml-kmeans), Lloyd iterations, the best of `nInit` runs by inertia, labels against the final
 * centres. The random draws are not numpy's, so splits equal scikit-learn's in quality, not point by point.
 */
export function sklearnKmeans(x: FeatureMatrix, k: number, o: SklearnKmeansOptions = {}): { labels: Int32Array; inertia: number } {
  const { rows: n, cols: d } = x;
  if (n < k) throw new ConfigError(`k-means: ${n} samples cannot make k = ${k} clusters`);
  const data = Array.from({ length: n }, (_, i) => Array.from(x.data.subarray(i * d, (i + 1) * d)));
  let best: { labels: Int32Array; inertia: number } | undefined;
  for (let r = 0; r < (o.nInit ?? 10); r++) {
    const result = kmeans(data, k, { initialization: 'kmeans++', seed: (o.seed ?? 0) + r, maxIterations: o.maxIter ?? 300 });
    const labels = Int32Array.from(result.nearest(data));
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      const c = result.centroids[labels[i]!]!;
      for (let j = 0; j < d; j++) inertia += (data[i]![j]! - c[j]!) ** 2;
    }
    if (!best || inertia < best.inertia) best = { labels, inertia };
  }
  return best!;
}
