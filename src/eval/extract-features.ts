import { ConfigError } from '../errors.js';
import { buildDataLoader } from '../data/index.js';
import type { Dataset } from '../data/index.js';
import type { DistContext } from '../dist/trainer-context.js';
import { tf, type Tensor } from '../engine/tf.js';
import type { BaseAlgorithm } from '../models/algorithms/base.js';
import { concatFloat32 } from '../engine/concat-float32.js';
import { allGatherRows } from '../dist/gather-rows.js';

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
  /**
   * Data-parallel extraction (MMSelfSup's dist_test_knn.sh / dist_test_svm.sh): each rank runs its share of the
   * data set (the distributed sampler, unshuffled) and the rows are all-gathered back into data set order, so every
   * rank ends with all of them.
   */
  dist?: DistContext;
}

/**
 * Every image of `dataset` (in order, eval mode, no augmentation beyond its pipeline) through the
 * backbone; `head` turns the backbone outputs of a batch into one `[N, dim]` tensor per feature set
 * (MMSelfSup's extractors: global pooling for kNN, MultiPooling per stage for t-SNE); with `o.dist` of
 * several ranks, each extracts its share and the rows are gathered (the result is the same on every rank).
 * @throws ConfigError when the dataset yields no labels.
 */
export async function extractFeatureSets(
  model: BaseAlgorithm, dataset: Dataset, head: (outs: Tensor[]) => Tensor[], o: ExtractOptions,
): Promise<{ sets: FeatureSet[]; labels: Int32Array; n: number }> {
  const rank = o.dist?.rank ?? 0;
  const worldSize = o.dist?.worldSize ?? 1;
  const loader = buildDataLoader(dataset, { samplesPerGpu: o.batchSize, shuffle: false, dropLast: false, seed: 0, rank, worldSize, log: o.log });
  const chunks: Float32Array[][] = [];
  const dims: number[] = [];
  const labels: number[] = [];
  const order: number[] = [];
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
      order.push(...batch.idx);
      o.onProgress?.(Math.min(labels.length * worldSize, dataset.length), dataset.length);
    }
  } finally {
    await loader.close();
  }
  if (worldSize > 1) return gatherInOrder(o.dist!, chunks, dims, labels, order, dataset.length);
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

/** Every rank's rows (features, labels, data set indices) gathered and put back in data set order; padding repeats are dropped. */
async function gatherInOrder(
  dist: DistContext, chunks: Float32Array[][], dims: number[], labels: number[], order: number[], n: number,
): Promise<{ sets: FeatureSet[]; labels: Int32Array; n: number }> {
  const gather = (rows: Float32Array, width: number) => allGatherRows(dist, rows, width);
  // the sampler pads every rank's share to the same size: each rank has rows of every set
  const idx = await gather(Float32Array.from(order), 1);
  const lab = await gather(Float32Array.from(labels), 1);
  const outLabels = new Int32Array(n);
  const seen = new Uint8Array(n);
  for (let r = 0; r < idx.length; r++) {
    outLabels[idx[r]] = lab[r];
    seen[idx[r]] = 1;
  }
  if (seen.some((s) => s === 0)) throw new Error(`distributed feature extraction missed ${seen.filter((s) => s === 0).length} of ${n} images`);
  const sets: FeatureSet[] = [];
  for (let s = 0; s < dims.length; s++) {
    const dim = dims[s];
    const rows = await gather(concatFloat32(chunks[s]), dim);
    const feats = new Float32Array(n * dim);
    // padding repeats the first samples: later copies overwrite earlier ones with the same row
    for (let r = 0; r < idx.length; r++) feats.set(rows.subarray(r * dim, (r + 1) * dim), idx[r] * dim);
    sets.push({ feats, dim });
  }
  return { sets, labels: outLabels, n };
}
