import { Registry } from '../../registry/index.js';
import type { ClusteringTool } from './clustering-tool.js';
import { kmeansEntry } from './kmeans.js';
import { picEntry } from './pic.js';

export type { ClusteringTool, ClusterOptions } from './clustering-tool.js';
export { featureMatrix, type FeatureMatrix } from './feature-matrix.js';
export { runKmeans, type KmeansOptions, type KmeansResult } from './faiss-kmeans.js';
export { sklearnKmeans, type SklearnKmeansOptions } from './sklearn-kmeans.js';
export { Kmeans } from './kmeans.js';
export { PIC } from './pic.js';
export { PCAWhitening } from './pca-whitening.js';
export { preprocessFeatures } from './preprocess-features.js';
export { searchL2 } from './nearest-neighbours.js';

/** MMSelfSup's clustering tools (`mmselfsup.utils.clustering.__dict__[type]`), by type name. */
export const CLUSTERING = new Registry<ClusteringTool>('clustering').addAll([kmeansEntry, picEntry]);

/** The tool a hook's `clustering=dict(type='Kmeans', k=..., pca_dim=...)` names. */
export function buildClustering(cfg: Record<string, unknown>): ClusteringTool {
  return CLUSTERING.build(cfg);
}
