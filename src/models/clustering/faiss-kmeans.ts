import { ConfigError } from '../../errors.js';
import type { FeatureMatrix } from './feature-matrix.js';
import { searchL2 } from './nearest-neighbours.js';

export interface KmeansOptions {
  /** Lloyd iterations (MMSelfSup sets faiss's `niter` to 20). */
  niter?: number;
  /** Seed of the initial draw and of the empty-cluster splits. */
  seed?: number;
  /** `[k, dim]` starting centroids instead of the random draw (faiss: centroids set before `train`). */
  initCentroids?: Float32Array;
}

export interface KmeansResult {
  /** Cluster of each row against the final centroids (MMSelfSup's `index.search(x, 1)` after training). */
  labels: Int32Array;
  /** `[k, dim]` row-major. */
  centroids: Float32Array;
  /** faiss's `obj` per iteration: the sum of squared distances of the assignment step. */
  objectives: number[];
}

/** faiss's relative perturbation when a centroid is split to refill an empty cluster. */
const SPLIT_EPS = 1 / 1024;

/**
 * k-means with faiss `Clustering`'s semantics, as MMSelfSup's `run_kmeans` configures it (no
 * subsampling: `max_points_per_centroid` = 1e7, one run): centroids start at `k` distinct points drawn
 * at random; each iteration assigns every point to its nearest centroid, moves each centroid to the mean
 * of its points, and refills each empty cluster by splitting a cluster drawn with probability
 * proportional to its size − 1 (the two copies perturbed by ±1/1024 in alternate coordinates).
 * @throws ConfigError when there are fewer points than clusters.
 */
export function runKmeans(x: FeatureMatrix, k: number, o: KmeansOptions = {}): KmeansResult {
  const { rows: n, cols: d } = x;
  const niter = o.niter ?? 20;
  if (!(Number.isInteger(k) && k > 0)) throw new ConfigError(`k-means: k must be a positive integer, got ${String(k)}`);
  if (n < k) throw new ConfigError(`k-means: ${n} samples cannot make k = ${k} clusters; lower k (num_classes) to at most the number of samples`);
  const rand = mulberry32(o.seed ?? 1234);
  const centroids = o.initCentroids ? Float32Array.from(o.initCentroids) : randomRows(x, k, rand);
  if (centroids.length !== k * d) throw new ConfigError(`k-means: initial centroids must be ${k} × ${d}, got ${centroids.length} floats`);
  const objectives: number[] = [];
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let it = 0; it < niter; it++) {
    const { ids, dists } = searchL2(x, { data: centroids, rows: k, cols: d }, 1);
    let obj = 0;
    for (let i = 0; i < n; i++) obj += dists[i];
    objectives.push(obj);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = ids[i];
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += x.data[i * d + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      for (let j = 0; j < d; j++) centroids[c * d + j] = sums[c * d + j] / counts[c];
    }
    splitEmptyClusters(centroids, counts, n, d, rand);
  }
  const { ids } = searchL2(x, { data: centroids, rows: k, cols: d }, 1);
  return { labels: ids, centroids, objectives };
}

/** `k` distinct rows of `x` drawn uniformly (the first `k` of a random permutation). */
function randomRows(x: FeatureMatrix, k: number, rand: () => number): Float32Array {
  const { rows: n, cols: d } = x;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const out = new Float32Array(k * d);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    [perm[i], perm[j]] = [perm[j], perm[i]];
    out.set(x.data.subarray(perm[i] * d, perm[i] * d + d), i * d);
  }
  return out;
}

/** faiss `split_clusters`: each empty cluster takes a perturbed copy of a big cluster's centroid. */
function splitEmptyClusters(centroids: Float32Array, counts: Float64Array, n: number, d: number, rand: () => number): number {
  const k = counts.length;
  let nsplit = 0;
  for (let ci = 0; ci < k; ci++) {
    if (counts[ci] !== 0) continue;
    let cj = 0;
    for (; ; cj = (cj + 1) % k) {
      if (rand() < (counts[cj] - 1) / (n - k)) break;
    }
    centroids.copyWithin(ci * d, cj * d, cj * d + d);
    for (let j = 0; j < d; j++) {
      const up = j % 2 === 0;
      centroids[ci * d + j] *= up ? 1 + SPLIT_EPS : 1 - SPLIT_EPS;
      centroids[cj * d + j] *= up ? 1 - SPLIT_EPS : 1 + SPLIT_EPS;
    }
    counts[ci] = Math.floor(counts[cj] / 2);
    counts[cj] -= counts[ci];
    nsplit++;
  }
  return nsplit;
}

/** mulberry32 over `seed`: uniform floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
