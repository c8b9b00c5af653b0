/**
 * MMSelfSup's `Kmeans(k, pca_dim)` (PCA-whitening + L2 + 20 Lloyd iterations) in ssl against the same
 * steps in scikit-learn, on the same random Gaussian-mixture features, each on 1 thread in its own
 * process, interleaved; reports median wall times and the final objectives (sum of squared distances
 * to the final centroids; random starts, so the objectives differ by the local optimum found).
 *
 *   npm run build && nice -n 5 node lib/benchmarks/kmeans.js [--n 10000] [--dim 512] [--k 1000] [--pca-dim 256] [--repeats 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/engine/backend.js';
import { Kmeans, featureMatrix, preprocessFeatures } from '../src/models/clustering/index.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const oneThread = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', SSL_THREADS: '1' };

if (argv[0] === '--cluster') {
  const [, feats, n, dim, k, pcaDim] = argv;
  await initBackend('auto', { log: () => {}, threads: 1 });
  const x = featureMatrix(new Float32Array(readFileSync(feats).buffer.slice(0)), Number(n), Number(dim));
  const t = performance.now();
  const tool = new Kmeans(Number(k), Number(pcaDim));
  tool.cluster(x, { seed: 0 });
  const seconds = (performance.now() - t) / 1000;
  const y = preprocessFeatures(x, Number(pcaDim));
  const c = tool.centroids as Float32Array;
  const labels = tool.labels as Int32Array;
  let inertia = 0;
  for (let i = 0; i < y.rows; i++) for (let j = 0; j < y.cols; j++) inertia += (y.data[i * y.cols + j] - c[labels[i] * y.cols + j]) ** 2;
  console.log(JSON.stringify({ seconds, inertia }));
  process.exit(0);
}

const n = Number(flag('--n', '10000'));
const dim = Number(flag('--dim', '512'));
const k = Number(flag('--k', '1000'));
const pcaDim = Number(flag('--pca-dim', '256'));
const repeats = Number(flag('--repeats', '3'));
const out = 'work_dirs/benchmarks/kmeans';
mkdirSync(out, { recursive: true });
// 100 Gaussian blobs in `dim` dimensions (deterministic)
let s = 12345;
const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const centers = Float32Array.from({ length: 100 * dim }, () => 2 * gauss());
const x = new Float32Array(n * dim);
for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = centers[(i % 100) * dim + j] + gauss();
const feats = join(out, `features-${n}x${dim}.f32`);
writeFileSync(feats, Buffer.from(x.buffer));
const args = [feats, String(n), String(dim), String(k), String(pcaDim)];
const runs: Record<'ssl' | 'sklearn', { seconds: number; inertia: number }[]> = { ssl: [], sklearn: [] };
for (let r = 0; r < repeats; r++) {
  runs.ssl.push(JSON.parse(execFileSync(process.execPath, [join(here, 'kmeans.js'), '--cluster', ...args], { env: oneThread, encoding: 'utf8' })));
  runs.sklearn.push(JSON.parse(execFileSync('/usr/bin/python3', [join(repo, 'benchmarks', 'kmeans_sklearn.py'), ...args], { env: oneThread, encoding: 'utf8' })));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`k-means ${n} x ${dim} -> PCA ${pcaDim}, k = ${k}, 20 iterations, 1 thread, ${repeats} interleaved runs`);
console.log('| | median s | runs (s) | objective |');
console.log('|---|---|---|---|');
for (const side of ['ssl', 'sklearn'] as const) {
  const t = runs[side].map((r) => r.seconds);
  console.log(`| ${side} | ${median(t).toFixed(2)} | ${t.map((v) => v.toFixed(2)).join(', ')} | ${runs[side][0].inertia.toFixed(1)} |`);
}
