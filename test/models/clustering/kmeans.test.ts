import { readFileSync } from 'node:fs';
import { initBackend } from '../../../src/engine/backend.js';
import { CLUSTERING, Kmeans, PCAWhitening, buildClustering, featureMatrix, preprocessFeatures, runKmeans, sklearnKmeans } from '../../../src/models/clustering/index.js';
import type { FeatureMatrix } from '../../../src/models/clustering/index.js';

const ref = JSON.parse(readFileSync(new URL('../../fixtures/clustering/sklearn.json', import.meta.url), 'utf8'));
const pcaX = featureMatrix(Float32Array.from(ref.pca.x), ref.pca.n, ref.pca.d);
const kmX = featureMatrix(Float32Array.from(ref.kmeans.x), ref.kmeans.n, ref.kmeans.d);

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

/** Max |a − s·b| over columns, each column's sign s chosen (eigenvectors are defined up to sign). */
function maxDiffUpToColumnSign(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number, scale = 1): number {
  let worst = 0;
  for (let j = 0; j < cols; j++) {
    let dot = 0;
    for (let i = 0; i < rows; i++) dot += a[i * cols + j] * b[i * cols + j];
    const s = dot < 0 ? -scale : scale;
    for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(a[i * cols + j] - s * b[i * cols + j]));
  }
  return worst;
}

/** Sum of squared distances of each row to its labelled centroid (scikit-learn's inertia). */
function inertia(x: FeatureMatrix, labels: Int32Array, centroids: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) s += (x.data[i * x.cols + j] - centroids[labels[i] * x.cols + j]) ** 2;
  return s;
}

test('PCA-whitening equals scikit-learn PCA(whiten=True) (covariance over n, not n − 1: one factor √(n/(n−1)))', () => {
  const { n, pca_dim: p } = ref.pca;
  const pca = PCAWhitening.train(pcaX, p);
  ref.pca.explained_variance.forEach((v: number, i: number) => expect(pca.eigenvalues[i] * (n / (n - 1))).toBeCloseTo(v, 3));
  const y = pca.apply(pcaX);
  expect([y.rows, y.cols]).toEqual([n, p]);
  expect(maxDiffUpToColumnSign(y.data, ref.pca.whitened, n, p, Math.sqrt(n / (n - 1)))).toBeLessThan(2e-4);
});

test('preprocess_features: PCA-whitened then L2-normalised rows equal scikit-learn\'s; pca_dim -1 only normalises', () => {
  const { n, pca_dim: p } = ref.pca;
  const y = preprocessFeatures(pcaX, p);
  expect(maxDiffUpToColumnSign(y.data, ref.pca.preprocessed, n, p)).toBeLessThan(2e-4);
  const z = preprocessFeatures(pcaX, -1);
  expect(z.cols).toBe(pcaX.cols);
  for (let r = 0; r < n; r++) expect(Math.hypot(...z.data.subarray(r * z.cols, (r + 1) * z.cols))).toBeCloseTo(1, 5);
  expect(z.data[0] / pcaX.data[0]).toBeCloseTo(z.data[1] / pcaX.data[1], 5);
});

test('Lloyd iterations from the same starting rows give scikit-learn\'s labels and objective', () => {
  const { k, init_rows: rows } = ref.kmeans;
  const r = runKmeans(kmX, k, { initCentroids: rowsOf(kmX, rows) });
  expect(Array.from(r.labels)).toEqual(ref.kmeans.lloyd_labels);
  expect(Math.abs(inertia(kmX, r.labels, r.centroids) / ref.kmeans.lloyd_inertia - 1)).toBeLessThan(1e-5);
  // faiss's objective is measured at each assignment: converged, the last equals the final inertia
  expect(Math.abs(r.objectives[19] / ref.kmeans.lloyd_inertia - 1)).toBeLessThan(1e-5);
});

test('k-means objective from random starts is within 3% of scikit-learn\'s best of 10 k-means++ runs', () => {
  const { k } = ref.kmeans;
  const found = [1, 2, 3, 4, 5].map((seed) => {
    const r = runKmeans(kmX, k, { seed });
    // the recorded objective never increases (Lloyd), and labels are the final centroids' nearest
    for (let i = 1; i < r.objectives.length; i++) expect(r.objectives[i]).toBeLessThanOrEqual(r.objectives[i - 1] * (1 + 1e-5));
    return inertia(kmX, r.labels, r.centroids);
  }).sort((a, b) => a - b);
  const median = found[2];
  expect(median).toBeLessThan(ref.kmeans.inertia * 1.03);
  expect(found[0]).toBeGreaterThan(ref.kmeans.inertia * (1 - 1e-4));
});

/** Four well-separated blobs of 30 points in 6-D; row i is in blob floor(i / 30). */
function blobs(): FeatureMatrix {
  let s = 7;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
  const data = new Float32Array(120 * 6);
  for (let i = 0; i < 120; i++) for (let j = 0; j < 6; j++) data[i * 6 + j] = (j === Math.floor(i / 30) ? 10 : 0) + rand();
  return featureMatrix(data, 120, 6);
}

const rowsOf = (x: FeatureMatrix, rowIds: number[]) => {
  const c = new Float32Array(rowIds.length * x.cols);
  rowIds.forEach((r, i) => c.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
  return c;
};

const samePartition = (labels: Int32Array, per: number) => {
  const map = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const blob = Math.floor(i / per);
    if (map.has(labels[i]) && map.get(labels[i]) !== blob) return false;
    map.set(labels[i], blob);
  }
  return map.size === labels.length / per;
};

test('separable blobs: exact clustering up to permutation from one start per blob', () => {
  const x = blobs();
  expect(samePartition(runKmeans(x, 4, { initCentroids: rowsOf(x, [3, 40, 70, 100]) }).labels, 30)).toBe(true);
});

test('an emptied cluster is refilled by splitting a populated one (faiss split_clusters), which separates two merged blobs', () => {
  // blobs of 30 points at 0 and at 10·e0 on a line, and one point far away: two centroids start on the
  // same point, ties go to the first, so the second is empty; the only cluster of more than one point
  // (both blobs) is split into copies ±1/1024 apart along e0, and the next assignment separates the blobs
  const data = new Float32Array(61 * 4);
  let s = 11;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
  for (let i = 0; i < 61; i++) for (let j = 0; j < 4; j++) data[i * 4 + j] = (j === 0 ? (i < 30 ? 0 : i < 60 ? 10 : 100) : 0) + (i < 60 ? rand() : 0);
  const x = featureMatrix(data, 61, 4);
  for (const seed of [1, 2, 3]) {
    const r = runKmeans(x, 3, { initCentroids: rowsOf(x, [3, 3, 60]), seed });
    const a = r.labels;
    expect(new Set(a.subarray(0, 30)).size).toBe(1);
    expect(new Set(a.subarray(30, 60)).size).toBe(1);
    expect(new Set([a[0], a[30], a[60]]).size).toBe(3);
  }
});

test('Kmeans (the configs\' tool) builds from dict(type=..., k, pca_dim), clusters, and names k when it exceeds the samples', () => {
  expect(CLUSTERING.names()).toEqual(['Kmeans', 'PIC']);
  const tool = buildClustering({ type: 'Kmeans', k: 8, pca_dim: -1 }) as Kmeans;
  const loss = tool.cluster(kmX, { seed: 3 });
  expect(tool.labels).toHaveLength(kmX.rows);
  expect(new Set(tool.labels).size).toBe(8);
  expect(tool.centroids).toHaveLength(8 * kmX.cols);
  expect(loss).toBeGreaterThan(0);
  expect(() => new Kmeans(500).cluster(kmX)).toThrow(/k \(500 clusters\) is larger than the number of samples \(480\)/);
  expect(() => new Kmeans(4, 20).cluster(kmX)).toThrow(/pca_dim must be an integer in \[1, 8\]/);
  expect(() => buildClustering({ type: 'Kmeans', k: 4, pca_di: 2 })).toThrow(/pca_di/);
});

test('PIC separates well-separated blobs and numbers the clusters 0..C-1', () => {
  const pic = buildClustering({ type: 'PIC', pca_dim: -1, nnn: 5, sigma: 0.2 });
  pic.cluster(blobs());
  const labels = pic.labels as Int32Array;
  const clusters = new Set(labels);
  expect([...clusters].sort()).toEqual([...Array(clusters.size).keys()]);
  // no cluster mixes two blobs (PIC may cut a blob into several clusters)
  for (let c = 0; c < clusters.size; c++) {
    const blobsOf = new Set([...labels.keys()].filter((i) => labels[i] === c).map((i) => Math.floor(i / 30)));
    expect(blobsOf.size).toBe(1);
  }
});

test("ODCMemory's split: sklearnKmeans(2) equals scikit-learn's KMeans(2, random_state=0, max_iter=20) on a largest cluster's features", () => {
  const { n, d } = ref.split2;
  const x = featureMatrix(Float32Array.from(ref.split2.x), n, d);
  const { labels, inertia: got } = sklearnKmeans(x, 2, { maxIter: 20, seed: 0 });
  expect(Math.abs(got - ref.split2.inertia) / ref.split2.inertia).toBeLessThan(1e-4);
  // the same partition, whichever side is called 0
  const same = labels.reduce((a, l, i) => a + (l === ref.split2.labels[i] ? 1 : 0), 0);
  expect(Math.max(same, n - same)).toBe(n);
  const smaller = Math.min(...[0, 1].map((c) => labels.filter((l) => l === c).length));
  expect(smaller).toBe(ref.split2.smaller);
});
