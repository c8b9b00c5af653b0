/**
 * Trustworthiness of an embedding (Venna & Kaski 2001; scikit-learn's `manifold.trustworthiness`):
 * 1 − 2/(n·k·(2n − 3k − 1)) · Σᵢ Σ_{j ∈ U_k(i)} max(0, r(i, j) − k), where U_k(i) are i's k nearest
 * neighbours in the embedding and r(i, j) the rank of j among i's neighbours in the input space.
 * O(n²) memory-light; for checks and benchmarks, not for the command's hot path.
 */
export function trustworthiness(x: Float32Array, dim: number, y: Float64Array | Float32Array, n: number, k = 10): number {
  const dIn = new Float64Array(n);
  const dOut = new Float64Array(n);
  const order = new Int32Array(n);
  const rank = new Int32Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const v = x[i * dim + d] - x[j * dim + d];
        s += v * v;
      }
      dIn[j] = j === i ? -Infinity : s;
      const a = y[2 * i] - y[2 * j];
      const b = y[2 * i + 1] - y[2 * j + 1];
      dOut[j] = j === i ? -Infinity : a * a + b * b;
    }
    // ranks in the input space: 1 = nearest (the point itself is rank 0), ties by index as numpy's stable argsort
    for (let j = 0; j < n; j++) order[j] = j;
    const sorted = Array.from(order).sort((a, b) => dIn[a] - dIn[b] || a - b);
    sorted.forEach((j, r) => (rank[j] = r));
    const nearOut = Array.from(order).sort((a, b) => dOut[a] - dOut[b] || a - b).slice(1, k + 1);
    for (const j of nearOut) t += Math.max(0, rank[j] - k);
  }
  return 1 - t * (2 / (n * k * (2 * n - 3 * k - 1)));
}
