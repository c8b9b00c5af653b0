import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { tf } from '../../engine/tf.js';
import { featureMatrix, sklearnKmeans } from '../clustering/index.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';

/** x / (‖x‖₂ + 1e-10) of every `d`-wide row of `a`, in place (MMSelfSup's ODC normalisation). */
function normalizeRows(a: Float32Array, d: number): void {
  for (let r = 0; r < a.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += a[r * d + j] * a[r * d + j];
    const inv = 1 / (Math.sqrt(s) + 1e-10);
    for (let j = 0; j < d; j++) a[r * d + j] *= inv;
  }
}

/** For every row of `feats` (`[n, d]`), the index into `candidates` of the centroid with the largest dot product. */
function nearestCentroid(centroids: Float32Array, candidates: number[], feats: Float32Array, d: number): Int32Array {
  return tf.tidy(() => {
    const c = tf.gather(tf.tensor2d(centroids, [centroids.length / d, d]), tf.tensor1d(candidates, 'int32'));
    const sim = tf.matMul(c, tf.tensor2d(feats, [feats.length / d, d]), false, true); // C x N
    return Int32Array.from(tf.argMax(sim, 0).dataSync());
  });
}

/**
 * MMSelfSup `ODCMemory`: the samples memory (an L2-normalised feature and a cluster label per data-set
 * sample) and the centroids memory (`centroids` `[num_classes, feat_dim]`, a buffer, in the state dict
 * as `memory_bank.centroids`). `updateSamplesMemory` moves a batch's rows towards its features with
 * `momentum` and re-labels them by nearest centroid; `updateCentroidsMemory` recomputes centroids as
 * cluster means; `dealWithSmallClusters` empties clusters below `min_cluster` and re-fills each by
 * splitting the largest cluster in two with k-means. Every rank holds the whole memory and applies the
 * same (gathered) updates, so the ranks agree without MMSelfSup's broadcasts.
 */
export class ODCMemory extends Module {
  featureBank: Float32Array;
  labelBank: Int32Array;
  initialized = false;
  private centroidsHost: Float32Array;

  constructor(
    readonly length: number,
    readonly featDim: number,
    readonly momentum: number,
    readonly numClasses: number,
    readonly minCluster: number,
    readonly debug = false,
  ) {
    super();
    if (!(Number.isInteger(length) && length > 0)) throw new ConfigError(`ODCMemory: length must be a positive integer (the data set size), got ${String(length)}`);
    if (!(Number.isInteger(featDim) && featDim > 0)) throw new ConfigError(`ODCMemory: feat_dim must be a positive integer, got ${String(featDim)}`);
    if (!(Number.isInteger(numClasses) && numClasses > 0)) throw new ConfigError(`ODCMemory: num_classes must be a positive integer, got ${String(numClasses)}`);
    this.featureBank = new Float32Array(0);
    this.labelBank = new Int32Array(length);
    this.centroidsHost = new Float32Array(numClasses * featDim);
    this.registerBuffer('centroids', tf.zeros([numClasses, featDim]));
  }

  forward(): never {
    throw new Error('ODCMemory has no forward; the ODC model calls its update methods');
  }

  get centroids(): Float32Array {
    return this.centroidsHost;
  }

  private setCentroids(c: Float32Array): void {
    this.centroidsHost = c;
    const v = this.namedBuffers().find(([n]) => n === 'centroids')![1];
    tf.tidy(() => v.assign(tf.tensor2d(c, [this.numClasses, this.featDim])));
  }

  /** MMSelfSup `init_memory` (DeepClusterHook `init_memory=True`): labels and normalised features of all samples, then all centroids. */
  initMemory(features: { data: Float32Array; rows: number; cols: number }, labels: ArrayLike<number>): void {
    if (features.rows !== this.length || labels.length !== this.length) {
      throw new ConfigError(`ODCMemory: length is ${this.length} but ${features.rows} features / ${labels.length} labels were extracted; set model.memory_bank.length to the data set size`);
    }
    if (features.cols !== this.featDim) throw new ConfigError(`ODCMemory: feat_dim is ${this.featDim} but the neck gives ${features.cols} features; make them equal`);
    this.initialized = true;
    this.labelBank = Int32Array.from(labels);
    const hist = this.histogram();
    if (hist.some((h) => h === 0)) throw new ConfigError(`ODCMemory.init_memory: cluster ${hist.findIndex((h) => h === 0)} is empty; the initial clustering must fill all num_classes clusters`);
    this.featureBank = Float32Array.from(features.data);
    normalizeRows(this.featureBank, this.featDim);
    this.setCentroids(this.computeCentroids());
  }

  histogram(): Int32Array {
    const hist = new Int32Array(this.numClasses);
    for (const l of this.labelBank) hist[l]++;
    return hist;
  }

  /** Means of the non-empty clusters; empty clusters keep their centroid. */
  private computeCentroids(cinds?: number[]): Float32Array {
    const d = this.featDim;
    const sums = new Float64Array(this.numClasses * d);
    const counts = new Int32Array(this.numClasses);
    for (let i = 0; i < this.length; i++) {
      const c = this.labelBank[i];
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += this.featureBank[i * d + j];
    }
    const out = Float32Array.from(this.centroidsHost);
    for (const c of cinds ?? Array.from({ length: this.numClasses }, (_, k) => k)) {
      if (counts[c] === 0) continue;
      for (let j = 0; j < d; j++) out[c * d + j] = sums[c * d + j] / counts[c];
    }
    return out;
  }

  /**
   * MMSelfSup `update_samples_memory` with the features of all ranks: rows of `idx` become
   * normalise((1 - momentum)·old + momentum·normalise(feature)), their labels the nearest centroid's;
   * returns the share of those labels that changed (`change_ratio`).
   */
  updateSamplesMemory(idx: ArrayLike<number>, feature: Float32Array): number {
    if (!this.initialized) throw new ConfigError('ODCMemory is not initialised: add DeepClusterHook with init_memory=True (and initial=True) to custom_hooks');
    const d = this.featDim;
    const f = Float32Array.from(feature);
    normalizeRows(f, d);
    for (let r = 0; r < idx.length; r++) {
      for (let j = 0; j < d; j++) f[r * d + j] = (1 - this.momentum) * this.featureBank[idx[r] * d + j] + this.momentum * f[r * d + j];
    }
    normalizeRows(f, d);
    for (let r = 0; r < idx.length; r++) this.featureBank.set(f.subarray(r * d, (r + 1) * d), idx[r] * d);
    const all = Array.from({ length: this.numClasses }, (_, k) => k);
    const newLabels = nearestCentroid(this.centroidsHost, all, f, d);
    let changed = 0;
    for (let r = 0; r < idx.length; r++) if (newLabels[r] !== this.labelBank[idx[r]]) changed++;
    for (let r = 0; r < idx.length; r++) this.labelBank[idx[r]] = newLabels[r];
    return changed / idx.length;
  }

  /** MMSelfSup `update_centroids_memory`: all centroids, or those of `cinds`. */
  updateCentroidsMemory(cinds?: number[]): void {
    this.setCentroids(this.computeCentroids(cinds));
  }

  /** MMSelfSup `deal_with_small_clusters`: samples of clusters below `min_cluster` go to their nearest other centroid; the emptied clusters take half of the largest. */
  dealWithSmallClusters(log?: (m: string) => void): void {
    const hist = this.histogram();
    const small = [...hist.keys()].filter((c) => hist[c] < this.minCluster);
    if (this.debug) log?.(`mincluster: ${Math.min(...hist)}, num of small class: ${small.length}`);
    if (small.length === 0) return;
    const smallSet = new Set(small);
    const inclusion = [...hist.keys()].filter((c) => !smallSet.has(c));
    if (inclusion.length === 0) throw new ConfigError(`ODCMemory: every cluster is smaller than min_cluster (${this.minCluster}); lower model.memory_bank.min_cluster`);
    const d = this.featDim;
    for (const s of small) {
      const idx: number[] = [];
      this.labelBank.forEach((l, i) => l === s && idx.push(i));
      if (idx.length === 0) continue;
      const feats = new Float32Array(idx.length * d);
      idx.forEach((i, r) => feats.set(this.featureBank.subarray(i * d, (i + 1) * d), r * d));
      const target = nearestCentroid(this.centroidsHost, inclusion, feats, d);
      idx.forEach((i, r) => (this.labelBank[i] = inclusion[target[r]]));
    }
    this.redirectEmptyClusters(small, log);
  }

  /** Each empty cluster takes the second half of a 2-means split of the (then) largest cluster. */
  private redirectEmptyClusters(empty: number[], log?: (m: string) => void): void {
    const d = this.featDim;
    for (const e of empty) {
      if (this.labelBank.includes(e)) throw new Error(`ODCMemory: cluster #${e} is not an empty cluster`);
      const hist = this.histogram();
      const maxCluster = hist.indexOf(Math.max(...hist));
      const members: number[] = [];
      this.labelBank.forEach((l, i) => l === maxCluster && members.push(i));
      if (members.length < 2) throw new ConfigError(`ODCMemory: the largest cluster has ${members.length} sample; too few samples for num_classes=${this.numClasses}`);
      const feats = new Float32Array(members.length * d);
      members.forEach((i, r) => feats.set(this.featureBank.subarray(i * d, (i + 1) * d), r * d));
      if (feats.some((v) => Number.isNaN(v))) throw new Error('ODCMemory: NaN in the features of the largest cluster');
      // MMSelfSup: sklearn KMeans(n_clusters=2, random_state=0, max_iter=20), i.e. the best of 10 k-means++
      // runs (a single run from random points often splits off a sliver, which comes back as a small
      // cluster); a fixed seed gives the same split on every rank; a one-sided split falls back to halves
      const { labels } = sklearnKmeans(featureMatrix(feats, members.length, d), 2, { maxIter: 20, seed: 0 });
      let second = members.filter((_, r) => labels[r] === 1);
      if (second.length === 0 || second.length === members.length) {
        log?.('Warning: kmeans partition fails, resort to random partition.');
        second = members.slice(Math.floor(members.length / 2));
      }
      for (const i of second) this.labelBank[i] = e;
      this.updateCentroidsMemory([maxCluster, e]);
    }
  }
}

export const odcMemoryEntry = defineComponent({
  type: 'ODCMemory',
  args: { length: REQUIRED as unknown, feat_dim: REQUIRED as unknown, momentum: REQUIRED as unknown, num_classes: REQUIRED as unknown, min_cluster: REQUIRED as unknown, debug: false },
  build: (a) => new ODCMemory(Number(a.length), Number(a.feat_dim), Number(a.momentum), Number(a.num_classes), Number(a.min_cluster), Boolean(a.debug)),
});
