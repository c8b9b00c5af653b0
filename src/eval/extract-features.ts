import { ConfigError } from '../errors.js';
import { buildDataLoader } from '../data/index.js';
import type { Dataset } from '../data/index.js';
import { tf, type Tensor } from '../engine/tf.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';

/** Rows of one feature set: `feats` row-major `[n, dim]`. */
export interface FeatureSet {
  feats: Float32Array;
  dim: number;
}

export interface ExtractOptions {
  batchSize: number;
  log?: (m: string) => void;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Every image of `dataset` (in order, eval mode, no augmentation beyond its pipeline) through the
 * backbone; `head` turns the backbone outputs of a batch into one `[N, dim]` tensor per feature set
 * (MMSelfSup's extractors: global pooling for kNN, MultiPooling per stage for t-SNE).
 * @throws ConfigError when the dataset yields no labels.
 */
export async function extractFeatureSets(
  model: BaseAlgorithm, dataset: Dataset, head: (outs: Tensor[]) => Tensor[], o: ExtractOptions,
): Promise<{ sets: FeatureSet[]; labels: Int32Array; n: number }> {
  const loader = buildDataLoader(dataset, { samplesPerGpu: o.batchSize, shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1, log: o.log });
  const chunks: Float32Array[][] = [];
  const dims: number[] = [];
  const labels: number[] = [];
  try {
    for await (const batch of loader.epoch(0)) {
      const v = batch.views[0];
      if (!batch.labels) throw new ConfigError('feature extraction needs a labelled data source (the dataset yields no labels)');
      const fs = tf.tidy(() => head(model.extractFeat(tf.tensor(v.data, [...v.shape], 'float32'))));
      fs.forEach((f, s) => {
        dims[s] = f.shape[1] as number;
        (chunks[s] ??= []).push(f.dataSync() as Float32Array);
        f.dispose();
      });
      labels.push(...batch.labels);
      o.onProgress?.(Math.min(labels.length, dataset.length), dataset.length);
    }
  } finally {
    await loader.close();
  }
  // the distributed sampler may pad; keep each image once
  const n = Math.min(labels.length, dataset.length);
  const sets = chunks.map((cs, s) => {
    const feats = new Float32Array(n * dims[s]);
    let off = 0;
    for (const c of cs) {
      const take = Math.min(c.length, feats.length - off);
      feats.set(c.subarray(0, take), off);
      off += take;
    }
    return { feats, dim: dims[s] };
  });
  return { sets, labels: Int32Array.from(labels.slice(0, n)), n };
}
