import { ConfigError } from '../../errors.js';
import { uniform01 } from '../../engine/random.js';
import { defineComponent, REQUIRED } from '../../registry/index.js';
import { runKmeans } from '../clustering/faiss-kmeans.js';
import { normalizeRow } from './simple-memory.js';

/**
 * MMSelfSup `InterCLRMemory`: one L2-normalised feature (`feat_dim`) and one cluster label per data-set
 * sample, and the `num_classes` cluster centroids. `InterCLRHook` fills it from a k-means of the
 * extracted features (`initMemory`) and keeps it clustered: every iteration the batch's features move
 * into the bank with `momentum` and take the label of their most similar centroid
 * (`updateSamplesMemory`); centroids are recomputed (`updateCentroidsMemory`) and clusters smaller than
 * `min_cluster` are dissolved and refilled by splitting the largest cluster in two
 * (`dealWithSmallClusters`). Every rank applies the same (gathered) updates, so the banks stay equal
 * without MMSelfSup's broadcasts from rank 0. Not part of the state dict, as in MMSelfSup.
 */
export class InterCLRMemory {
  private bank: Float32Array | null = null;
  readonly labelBank: Int32Array;
  readonly centroids: Float32Array;
  initialized = false;

  constructor(
    readonly length: number,
    readonly featDim: number,
    readonly momentum: number,
    readonly numClasses: number,
    readonly minCluster: number,
    readonly debug = false,
  ) {
    if (!(Number.isInteger(length) && length > 0)) throw new ConfigError(`InterCLRMemory: length must be a positive integer (the data set size), got ${String(length)}`);
    if (!(Number.isInteger(featDim) && featDim > 0)) throw new ConfigError(`InterCLRMemory: feat_dim must be a positive integer, got ${String(featDim)}`);
    if (!(Number.isInteger(numClasses) && numClasses > 1)) throw new ConfigError(`InterCLRMemory: num_classes must be an integer > 1, got ${String(numClasses)}`);
    if (numClasses > length) throw new ConfigError(`InterCLRMemory: num_classes (${numClasses}) is larger than length (${length}, the data set size); lower num_classes`);
    this.labelBank = new Int32Array(length);
    this.centroids = new Float32Array(numClasses * featDim);
  }

  /** `[length, feat_dim]` row-major (zeros until `initMemory`; allocated on first use). */
  get featureBank(): Float32Array {
    this.bank ??= new Float32Array(this.length * this.featDim);
    return this.bank;
  }

  /** MMSelfSup `init_memory(feature, label)`: rows / (‖row‖ + 1e-12), the labels, every centroid. */
  initMemory(features: Float32Array, labels: ArrayLike<number>): void {
    if (features.length !== this.length * this.featDim) {
      throw new ConfigError(`InterCLRMemory: got ${features.length / this.featDim} features of ${this.featDim} for a bank of length ${this.length}; set model.memory_bank.length to the data set size`);
    }
    this.assignLabel(labels);
    const bank = this.featureBank;
    const d = this.featDim;
    for (let r = 0; r < this.length; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += features[r * d + j] * features[r * d + j];
      const inv = 1 / (Math.sqrt(s) + 1e-12);
      for (let j = 0; j < d; j++) bank[r * d + j] = features[r * d + j] * inv;
    }
    this.updateCentroidsMemory();
    this.initialized = true;
  }

  /** MMSelfSup `assign_label`: offline labels (no cluster may be empty). */
  assignLabel(labels: ArrayLike<number>): void {
    if (labels.length !== this.length) throw new ConfigError(`InterCLRMemory: got ${labels.length} labels for a bank of length ${this.length}`);
    this.labelBank.set(labels);
    const empty = this.histogram().findIndex((c) => c === 0);
    if (empty >= 0) throw new ConfigError(`InterCLRMemory: cluster ${empty} of ${this.numClasses} is empty after clustering; lower num_classes (the clustering's k)`);
  }

  /** Cluster sizes `[num_classes]` (`np.bincount(label_bank, minlength=num_classes)`). */
  histogram(): Int32Array {
    const h = new Int32Array(this.numClasses);
    for (const l of this.labelBank) h[l]++;
    return h;
  }

  /** Rows `idx` of the bank, `[idx.length, feat_dim]` (a copy). */
  rows(idx: ArrayLike<number>): Float32Array {
    const d = this.featDim;
    const out = new Float32Array(idx.length * d);
    for (let i = 0; i < idx.length; i++) out.set(this.featureBank.subarray(idx[i] * d, idx[i] * d + d), i * d);
    return out;
  }

  /** `n` indices drawn uniformly from `[0, length)` (`AliasMethod(torch.ones(length)).draw(n)`). */
  draw(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.min(this.length - 1, Math.floor(uniform01() * this.length));
    return out;
  }

  /** Moves rows `idx` towards the normalised `feats` (after the all-gather): normalize((1 − m)·row + m·normalize(f)). */
  updateSimpleMemory(idx: ArrayLike<number>, feats: Float32Array): void {
    const d = this.featDim;
    const m = this.momentum;
    const bank = this.featureBank;
    const f = Float32Array.from(feats);
    for (let i = 0; i < idx.length; i++) {
      const r = idx[i];
      if (!(r >= 0 && r < this.length)) throw new Error(`InterCLRMemory: sample index ${r} is outside the bank of ${this.length}`);
      normalizeRow(f, i, d);
      for (let j = 0; j < d; j++) bank[r * d + j] = (1 - m) * bank[r * d + j] + m * f[i * d + j];
      normalizeRow(bank, r, d);
    }
  }

  /**
   * MMSelfSup `update_samples_memory`: `updateSimpleMemory`, then each updated row takes the label of
   * its most similar centroid. Returns the fraction of rows whose label changed (`change_ratio`).
   */
  updateSamplesMemory(idx: ArrayLike<number>, feats: Float32Array): number {
    this.updateSimpleMemory(idx, feats);
    const d = this.featDim;
    const bank = this.featureBank;
    let changed = 0;
    for (let i = 0; i < idx.length; i++) {
      const label = this.nearestCentroid(bank.subarray(idx[i] * d, idx[i] * d + d), null);
      if (label !== this.labelBank[idx[i]]) changed++;
      this.labelBank[idx[i]] = label;
    }
    return changed / idx.length;
  }

  /** MMSelfSup `update_centroids_memory(cinds)`: the mean row of each (given) non-empty cluster. */
  updateCentroidsMemory(cinds?: number[]): void {
    const d = this.featDim;
    const want = cinds ? new Set(cinds) : null;
    const sums = new Float64Array(this.numClasses * d);
    const counts = new Float64Array(this.numClasses);
    const bank = this.featureBank;
    for (let r = 0; r < this.length; r++) {
      const c = this.labelBank[r];
      if (want && !want.has(c)) continue;
      counts[c]++;
      for (let j = 0; j < d; j++) sums[c * d + j] += bank[r * d + j];
    }
    for (let c = 0; c < this.numClasses; c++) {
      // an empty cluster keeps its centroid (MMSelfSup's _compute_centroids)
      if (counts[c] === 0) continue;
      for (let j = 0; j < d; j++) this.centroids[c * d + j] = sums[c * d + j] / counts[c];
    }
  }

  /**
   * MMSelfSup `deal_with_small_clusters`: the rows of every cluster smaller than `min_cluster` move to
   * their most similar centroid among the other clusters; each emptied cluster then takes half of the
   * largest cluster (`_redirect_empty_clusters`).
   */
  dealWithSmallClusters(log?: (m: string) => void): void {
    const hist = this.histogram();
    const small: number[] = [];
    hist.forEach((n, c) => n < this.minCluster && small.push(c));
    if (this.debug) log?.(`mincluster: ${Math.min(...hist)}, num of small class: ${small.length}`);
    if (small.length === 0) return;
    if (small.length === this.numClasses) {
      throw new ConfigError(`InterCLRMemory: every cluster is smaller than min_cluster (${this.minCluster}, largest ${Math.max(...hist)}); lower model.memory_bank.min_cluster`);
    }
    const excluded = new Set(small);
    const d = this.featDim;
    for (const s of small) {
      for (let r = 0; r < this.length; r++) {
        if (this.labelBank[r] === s) this.labelBank[r] = this.nearestCentroid(this.featureBank.subarray(r * d, r * d + d), excluded);
      }
    }
    for (const e of small) this.redirectEmptyCluster(e);
  }

  /** Index of the centroid with the largest dot product with `row` (skipping `excluded`). */
  private nearestCentroid(row: Float32Array, excluded: Set<number> | null): number {
    const d = this.featDim;
    let best = -1;
    let bestSim = -Infinity;
    for (let c = 0; c < this.numClasses; c++) {
      if (excluded?.has(c)) continue;
      let s = 0;
      for (let j = 0; j < d; j++) s += this.centroids[c * d + j] * row[j];
      if (s > bestSim) {
        bestSim = s;
        best = c;
      }
    }
    return best;
  }

  /** Splits the largest cluster in two (2-means of its rows) and gives the second half to empty cluster `e`. */
  private redirectEmptyCluster(e: number): void {
    const hist = this.histogram();
    if (hist[e] !== 0) throw new Error(`InterCLRMemory: cluster #${e} is not an empty cluster`);
    let max = 0;
    for (let c = 1; c < this.numClasses; c++) if (hist[c] > hist[max]) max = c;
    const members: number[] = [];
    for (let r = 0; r < this.length; r++) if (this.labelBank[r] === max) members.push(r);
    if (members.length < 2) throw new ConfigError(`InterCLRMemory: the largest cluster has ${members.length} sample(s), too few to refill an empty one; lower num_classes or min_cluster`);
    const second = this.partition(members);
    for (const r of second) this.labelBank[r] = e;
    this.updateCentroidsMemory([max, e]);
  }

  /**
   * MMSelfSup `_partition_max_cluster` (scikit-learn `KMeans(2, random_state=0, max_iter=20)` there;
   * faiss-semantics 2-means from a fixed seed here, the same on every rank); a split leaving one side
   * empty falls back to a seeded random half. Returns the members of the second part.
   */
  private partition(members: number[]): number[] {
    const d = this.featDim;
    const x = { data: this.rows(members), rows: members.length, cols: d };
    const { labels } = runKmeans(x, 2, { niter: 20, seed: 0 });
    const second = members.filter((_, i) => labels[i] === 1);
    if (second.length > 0 && second.length < members.length) return second;
    let state = members.length;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
    const shuffled = [...members];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    return shuffled.slice(Math.floor(members.length / 2));
  }
}

export const interCLRMemoryEntry = defineComponent({
  type: 'InterCLRMemory',
  args: { length: REQUIRED, feat_dim: REQUIRED, momentum: REQUIRED, num_classes: REQUIRED, min_cluster: REQUIRED, debug: false },
  build: (a) =>
    new InterCLRMemory(
      a.length as unknown as number,
      a.feat_dim as unknown as number,
      a.momentum as unknown as number,
      a.num_classes as unknown as number,
      a.min_cluster as unknown as number,
      a.debug,
    ),
});
