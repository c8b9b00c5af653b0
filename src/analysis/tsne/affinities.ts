/**
 * Sparse symmetric affinities P of t-SNE from each point's k nearest neighbours, as scikit-learn's
 * `_joint_probabilities_nn` computes them: per point a Gaussian over squared distances whose
 * precision is found by bisection to match the perplexity, then P = (P + Pᵀ) / sum.
 */

/** Rows of a sparse n×n matrix: row i's entries are `cols/vals[rowPtr[i] .. rowPtr[i+1])`. */
export interface SparseRows {
  n: number;
  rowPtr: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

const EPSILON_DBL = 1e-8;

/**
 * Conditional P(j|i) over each row's `k` neighbours (`dist2` squared distances, row-major n×k),
 * each row a distribution of entropy log(perplexity) (scikit-learn's `_binary_search_perplexity`:
 * 100 bisection steps at most, tolerance 1e-5).
 */
export function conditionalP(dist2: Float32Array, n: number, k: number, perplexity: number): Float64Array {
  const P = new Float64Array(n * k);
  const desired = Math.log(perplexity);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    for (let step = 0; step < 100; step++) {
      let sumP = 0;
      for (let j = 0; j < k; j++) {
        const p = Math.exp(-dist2[o + j] * beta);
        P[o + j] = p;
        sumP += p;
      }
      if (sumP === 0) sumP = EPSILON_DBL;
      let sumDP = 0;
      for (let j = 0; j < k; j++) {
        P[o + j] /= sumP;
        sumDP += dist2[o + j] * P[o + j];
      }
      const diff = Math.log(sumP) + beta * sumDP - desired;
      if (Math.abs(diff) <= 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return P;
}

/** P = (C + Cᵀ) / sum(C + Cᵀ) for the conditional C on the kNN graph (`nbrs` row-major n×k). */
export function jointP(cond: Float64Array, nbrs: Int32Array, n: number, k: number): SparseRows {
  // both directions of every edge, then merge duplicates per row
  const counts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      counts[i + 1]++;
      counts[nbrs[i * k + j] + 1]++;
    }
  }
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const fill = counts.slice(0, n);
  const cols = new Int32Array(counts[n]);
  const vals = new Float64Array(counts[n]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const c = nbrs[i * k + j];
      const v = cond[i * k + j];
      cols[fill[i]] = c;
      vals[fill[i]++] = v;
      cols[fill[c]] = i;
      vals[fill[c]++] = v;
    }
  }
  const rowPtr = new Int32Array(n + 1);
  const outCols: number[] = [];
  const outVals: number[] = [];
  const acc = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < n; i++) {
    acc.clear();
    for (let e = counts[i]; e < counts[i + 1]; e++) acc.set(cols[e], (acc.get(cols[e]) ?? 0) + vals[e]);
    for (const [c, v] of [...acc].sort((a, b) => a[0] - b[0])) {
      outCols.push(c);
      outVals.push(v);
      total += v;
    }
    rowPtr[i + 1] = outCols.length;
  }
  const norm = Math.max(total, Number.EPSILON);
  return { n, rowPtr, cols: Int32Array.from(outCols), vals: Float64Array.from(outVals, (v) => v / norm) };
}
