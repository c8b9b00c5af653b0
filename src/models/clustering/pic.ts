import { ConfigError } from '../../errors.js';
import { defineComponent } from '../../registry/index.js';
import type { ClusteringTool, ClusterOptions } from './clustering-tool.js';
import type { FeatureMatrix } from './feature-matrix.js';
import { searchL2 } from './nearest-neighbours.js';
import { preprocessFeatures } from './preprocess-features.js';

/** A symmetric sparse matrix: row `i`'s columns (ascending) and weights. */
interface SparseRows {
  cols: Int32Array[];
  vals: Float64Array[];
}

/**
 * MMSelfSup `PIC` (power iteration clustering, as DeepCluster's): a graph of each point's `nnn` nearest
 * neighbours with Gaussian weights exp(-d²/σ²), symmetrised; 200 power iterations of the
 * teleporting random walk (`alpha`); each point follows its steepest ascent of the resulting vector
 * to a local maximum, whose id is its cluster. With `distribute_singletons` a one-point cluster joins
 * the cluster of its nearest neighbour that is not a singleton. Clusters are numbered in order of
 * their local maximum's index, as MMSelfSup's `images_lists`.
 */
export class PIC implements ClusteringTool {
  labels: Int32Array | null = null;

  constructor(
    readonly sigma = 0.2,
    readonly nnn = 5,
    readonly alpha = 0.001,
    readonly distributeSingletons = true,
    readonly pcaDim = 256,
  ) {
    if (!(Number.isInteger(nnn) && nnn > 0)) throw new ConfigError(`PIC: nnn must be a positive integer, got ${String(nnn)}`);
    if (!(sigma > 0)) throw new ConfigError(`PIC: sigma must be positive, got ${String(sigma)}`);
  }

  cluster(features: FeatureMatrix, o: ClusterOptions = {}): number {
    if (features.rows <= this.nnn) throw new ConfigError(`PIC: nnn (${this.nnn}) must be smaller than the number of samples (${features.rows})`);
    const xb = preprocessFeatures(features, this.pcaDim);
    const k = this.nnn + 1;
    const { ids, dists } = searchL2(xb, xb, k);
    const w = symmetricGraph(ids, dists, xb.rows, k, this.sigma);
    const v = powerIterations(w, this.alpha);
    const clust = localMaxima(w, v);
    if (this.distributeSingletons) joinSingletons(clust, ids, k);
    const order = [...new Set(clust)].sort((a, b) => a - b);
    const compact = new Map(order.map((c, i) => [c, i]));
    this.labels = Int32Array.from(clust, (c) => compact.get(c) as number);
    o.log?.(`PIC: ${features.rows} samples into ${order.length} clusters`);
    return 0;
  }
}

/** MMSelfSup `make_adjacencyW` + `a + a.T`: neighbours 1..nnn of each row (column 0 is the point itself). */
function symmetricGraph(ids: Int32Array, dists: Float32Array, n: number, k: number, sigma: number): SparseRows {
  const rows = Array.from({ length: n }, () => new Map<number, number>());
  for (let i = 0; i < n; i++) {
    for (let t = 1; t < k; t++) {
      const j = ids[i * k + t];
      const wt = Math.fround(Math.exp(-dists[i * k + t] / (sigma * sigma)));
      rows[i].set(j, (rows[i].get(j) ?? 0) + wt);
      rows[j].set(i, (rows[j].get(i) ?? 0) + wt);
    }
  }
  const cols: Int32Array[] = [];
  const vals: Float64Array[] = [];
  for (const r of rows) {
    const c = Int32Array.from(r.keys()).sort();
    cols.push(c);
    vals.push(Float64Array.from(c, (j) => r.get(j) as number));
  }
  return { cols, vals };
}

/** 200 steps of v ← normalise(α·Wᵀv + (1 − α)/n) from the uniform vector (float32 as MMSelfSup). */
function powerIterations(w: SparseRows, alpha: number): Float32Array {
  const n = w.cols.length;
  let v = new Float32Array(n).fill(1 / n);
  for (let it = 0; it < 200; it++) {
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = w.cols[i];
      for (let t = 0; t < c.length; t++) next[c[t]] += w.vals[i][t] * v[i];
    }
    let sum = 0;
    for (let i = 0; i < n; i++) {
      next[i] = alpha * next[i] + (1 - alpha) / n;
      sum += next[i];
    }
    for (let i = 0; i < n; i++) next[i] /= sum;
    v = next;
  }
  return v;
}

/** MMSelfSup `find_maxima_cluster`: each point's cluster is the local maximum its ascent reaches. */
function localMaxima(w: SparseRows, v: Float32Array): number[] {
  const n = v.length;
  const pointers = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    let best = 0;
    w.cols[i].forEach((j, t) => {
      const gain = w.vals[i][t] * (v[j] - v[i]);
      if (gain > best) {
        best = gain;
        pointers[i] = j;
      }
    });
  }
  const clusterOf = new Int32Array(n).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) if (pointers[i] === i) clusterOf[i] = next++;
  return Array.from({ length: n }, (_, i) => {
    let c = i;
    while (pointers[c] !== c) c = pointers[c];
    return clusterOf[c];
  });
}

/** Moves each singleton into the cluster of its nearest neighbour that is not itself a singleton. */
function joinSingletons(clust: number[], ids: Int32Array, k: number): void {
  const size = new Map<number, number>();
  for (const c of clust) size.set(c, (size.get(c) ?? 0) + 1);
  const moves: [number, number][] = [];
  for (let s = 0; s < clust.length; s++) {
    if (size.get(clust[s]) !== 1) continue;
    for (let t = 1; t < k; t++) {
      const nb = ids[s * k + t];
      if (size.get(clust[nb]) !== 1) {
        moves.push([s, nb]);
        break;
      }
    }
  }
  for (const [s, nb] of moves) clust[s] = clust[nb];
}

export const picEntry = defineComponent({
  type: 'PIC',
  args: { args: null, sigma: 0.2, nnn: 5, alpha: 0.001, distribute_singletons: true, pca_dim: 256 },
  build: (a) => new PIC(a.sigma, a.nnn, a.alpha, a.distribute_singletons, a.pca_dim),
});
