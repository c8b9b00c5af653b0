import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, type Tensor4D } from '../../src/engine/tf.js';
import { conditionalP, jointP, type SparseRows } from '../../src/analysis/tsne/affinities.js';
import { bhGradient } from '../../src/analysis/tsne/barnes-hut.js';
import { multiPooling } from '../../src/analysis/tsne/multi-pooling.js';
import { nearestNeighbors } from '../../src/analysis/tsne/neighbors.js';
import { QuadTree } from '../../src/analysis/tsne/quadtree.js';
import { trustworthiness } from '../../src/analysis/tsne/trustworthiness.js';
import { tsne } from '../../src/analysis/tsne/tsne.js';
import { Rng } from '../../src/data/rng.js';
import { REPO_ROOT } from '../helpers/run-cli.js';

const FIX = join(REPO_ROOT, 'test', 'fixtures', 'tsne');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe("MultiPooling (MMSelfSup's, against torch)", () => {
  const { cases } = JSON.parse(readFileSync(join(FIX, 'multi-pooling.json'), 'utf8'));
  for (const c of cases) {
    test(`${c.name}: ${c.nchw.join('x')} NCHW`, () => {
      const [n, ch, h, w] = c.nchw;
      const x = tf.transpose(tf.tensor4d(c.x, [n, ch, h, w]), [0, 2, 3, 1]) as Tensor4D;
      const [flat] = multiPooling([x], [c.stage], c.type);
      expect(flat.shape).toEqual([n, c.flat_dim]);
      const got = flat.dataSync();
      let maxErr = 0;
      c.flat.forEach((v: number, i: number) => (maxErr = Math.max(maxErr, Math.abs(v - got[i]))));
      expect(maxErr).toBeLessThan(1e-5);
    });
  }

  test("specified pooling on a map smaller than ResNet-50's window says to use adaptive", () => {
    expect(() => multiPooling([tf.zeros([1, 4, 4, 8])], [4], 'specified')).toThrow(/4x4, smaller than the 6x6 window .* use --pool-type adaptive/);
  });
});

function denseP(P: SparseRows): Float64Array {
  const d = new Float64Array(P.n * P.n);
  for (let i = 0; i < P.n; i++) for (let e = P.rowPtr[i]; e < P.rowPtr[i + 1]; e++) d[i * P.n + P.cols[e]] = P.vals[e];
  return d;
}

describe('t-SNE pieces', () => {
  const rng = new Rng(3);
  const n = 60;
  const dim = 5;
  const x = Float32Array.from({ length: n * dim }, () => rng.normal());

  test('nearest neighbours: exact, self excluded, nearest first', () => {
    const k = 7;
    const { nbrs, dist2 } = nearestNeighbors(x, n, dim, k, 16);
    for (let i = 0; i < n; i++) {
      const naive = Array.from({ length: n }, (_, j) => [j, Array.from({ length: dim }, (_, d) => (x[i * dim + d] - x[j * dim + d]) ** 2).reduce((a, b) => a + b)] as const)
        .filter(([j]) => j !== i).sort((a, b) => a[1] - b[1]).slice(0, k);
      expect(Array.from(nbrs.subarray(i * k, (i + 1) * k))).toEqual(naive.map(([j]) => j));
      naive.forEach(([, d], e) => expect(dist2[i * k + e]).toBeCloseTo(d, 3));
    }
  });

  test('conditional P: each row a distribution of perplexity 10; joint P symmetric, summing to 1', () => {
    const k = 31;
    const { nbrs, dist2 } = nearestNeighbors(x, n, dim, k);
    const cond = conditionalP(dist2, n, k, 10);
    for (let i = 0; i < n; i++) {
      const row = cond.subarray(i * k, (i + 1) * k);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      const entropy = -row.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
      expect(Math.exp(entropy)).toBeCloseTo(10, 3);
    }
    const P = denseP(jointP(cond, nbrs, n, k));
    expect(P.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(P[i * n + j]).toBeCloseTo(P[j * n + i], 15);
  });

  test('Barnes-Hut gradient: exact at angle 0, within 2% at angle 0.5, of the naive KL gradient', () => {
    const k = 31;
    const { nbrs, dist2 } = nearestNeighbors(x, n, dim, k);
    const P = jointP(conditionalP(dist2, n, k, 10), nbrs, n, k);
    const Pd = denseP(P);
    const y = Float64Array.from({ length: 2 * n }, () => rng.normal() * 3);
    // dC/dy_i = 4 Σ_j (p_ij − q_ij)(1 + |y_i − y_j|²)⁻¹ (y_i − y_j)
    let Z = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) Z += 1 / (1 + (y[2 * i] - y[2 * j]) ** 2 + (y[2 * i + 1] - y[2 * j + 1]) ** 2);
    const naive = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const u = 1 / (1 + (y[2 * i] - y[2 * j]) ** 2 + (y[2 * i + 1] - y[2 * j + 1]) ** 2);
      const m = 4 * (Pd[i * n + j] - u / Z) * u;
      naive[2 * i] += m * (y[2 * i] - y[2 * j]);
      naive[2 * i + 1] += m * (y[2 * i + 1] - y[2 * j + 1]);
    }
    const scratch = { order: new Int32Array(n), neg: new Float64Array(2 * n), stack: new Int32Array(8) };
    const grad = new Float64Array(2 * n);
    const norm = Math.hypot(...naive);
    bhGradient(y, P, 1, 0, new QuadTree(n), scratch, grad, false);
    expect(Math.hypot(...grad.map((g, d) => g - naive[d])) / norm).toBeLessThan(1e-10);
    bhGradient(y, P, 1, 0.5, new QuadTree(n), scratch, grad, false);
    const rel = Math.hypot(...grad.map((g, d) => g - naive[d])) / norm;
    expect(rel).toBeGreaterThan(0); // the approximation is in use
    expect(rel).toBeLessThan(0.02);
  });
});

describe('t-SNE against scikit-learn (three blobs, MMSelfSup settings)', () => {
  const f = JSON.parse(readFileSync(join(FIX, 'blobs.json'), 'utf8'));
  const x = Float32Array.from(f.x);
  const n = f.labels.length;

  test("trustworthiness equals scikit-learn's on scikit-learn's own embedding", () => {
    expect(trustworthiness(x, f.dim, Float64Array.from(f.sklearn_embedding), n, 10)).toBeCloseTo(f.sklearn_trustworthiness, 6);
  });

  test("ssl's embedding: trustworthiness within 0.02 of scikit-learn's, blobs apart", () => {
    const r = tsne(x, n, f.dim, { seed: 0 });
    expect(r.iterations).toBeGreaterThan(250);
    const t = trustworthiness(x, f.dim, r.embedding, n, 10);
    expect(Math.abs(t - f.sklearn_trustworthiness)).toBeLessThan(0.02);
    // every point's 5 nearest embedded neighbours share its blob
    let pure = 0;
    for (let i = 0; i < n; i++) {
      const near = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i)
        .sort((a, b) => Math.hypot(r.embedding[2 * a] - r.embedding[2 * i], r.embedding[2 * a + 1] - r.embedding[2 * i + 1]) - Math.hypot(r.embedding[2 * b] - r.embedding[2 * i], r.embedding[2 * b + 1] - r.embedding[2 * i + 1]))
        .slice(0, 5);
      if (near.every((j) => f.labels[j] === f.labels[i])) pure++;
    }
    expect(pure / n).toBeGreaterThan(0.98);
  });

  test('bad perplexity and too few iterations are one-line errors', () => {
    expect(() => tsne(x, 20, f.dim, { perplexity: 30 })).toThrow(/--perplexity must be positive and below the number of samples \(20\)/);
    expect(() => tsne(x, n, f.dim, { nIter: 100 })).toThrow(/--n-iter should be at least 250/);
  });
});

describe('--method umap (umap-js)', () => {
  test('the three blobs stay apart', async () => {
    const { umap2d } = await import('../../src/analysis/tsne/umap.js');
    const f = JSON.parse(readFileSync(join(FIX, 'blobs.json'), 'utf8'));
    const n = f.labels.length;
    const a = umap2d(Float32Array.from(f.x), n, f.dim, 0, 'umap', false);
    expect(a.embedding.every(Number.isFinite)).toBe(true);
    const x = Float32Array.from(f.x);
    expect(trustworthiness(x, f.dim, a.embedding, n, 10)).toBeGreaterThan(0.9);
  });
});
