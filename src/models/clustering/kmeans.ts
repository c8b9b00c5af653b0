import { ConfigError } from '../../errors.js';
import { nextUint32 } from '../../engine/random.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { ClusteringTool, ClusterOptions } from './clustering-tool.js';
import { runKmeans } from './faiss-kmeans.js';
import type { FeatureMatrix } from './feature-matrix.js';
import { preprocessFeatures } from './preprocess-features.js';

/**
 * MMSelfSup `Kmeans(k, pca_dim=256)`: the features PCA-whitened to `pca_dim` (-1: no PCA) and
 * L2-normalised, then faiss k-means with 20 iterations from a fresh seed per call. After `cluster`,
 * `labels` holds each row's cluster and `centroids` the `[k, dim]` centroids in the preprocessed space.
 */
export class Kmeans implements ClusteringTool {
  labels: Int32Array | null = null;
  centroids: Float32Array | null = null;

  constructor(
    readonly k: number,
    readonly pcaDim = 256,
    readonly niter = 20,
  ) {
    if (!(Number.isInteger(k) && k > 0)) throw new ConfigError(`Kmeans: k must be a positive integer, got ${String(k)}`);
    if (!(pcaDim === -1 || (Number.isInteger(pcaDim) && pcaDim > 0))) throw new ConfigError(`Kmeans: pca_dim must be a positive integer or -1, got ${String(pcaDim)}`);
  }

  /** Clusters the rows of `features`; returns the last iteration's k-means objective (MMSelfSup's loss). */
  cluster(features: FeatureMatrix, o: ClusterOptions = {}): number {
    if (features.rows < this.k) {
      throw new ConfigError(`Kmeans: k (${this.k} clusters) is larger than the number of samples (${features.rows}); lower k / num_classes`);
    }
    const t0 = Date.now();
    const xb = preprocessFeatures(features, this.pcaDim);
    const { labels, centroids, objectives } = runKmeans(xb, this.k, { niter: this.niter, seed: o.seed ?? nextUint32() % 1234 });
    this.labels = labels;
    this.centroids = centroids;
    const loss = objectives[objectives.length - 1];
    o.log?.(`k-means: ${features.rows} × ${features.cols} into ${this.k} clusters, loss ${loss.toPrecision(6)}, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return loss;
  }
}

export const kmeansEntry = defineComponent({
  type: 'Kmeans',
  args: { k: REQUIRED, pca_dim: 256 },
  build: (a) => new Kmeans(a.k as unknown as number, a.pca_dim),
});
