/**
 * t-SNE of ssl against scikit-learn (issue 21): the same 5,000 Fashion-MNIST test-image features
 * (stage-4 ResNet-18-CIFAR features, MultiPooling adaptive, as `ssl viz tsne --layer-ind 4
 * --pool-type adaptive` extracts them), embedded by ssl's Barnes-Hut t-SNE and by scikit-learn's
 * `TSNE` with MMSelfSup's settings, each on 1 thread in its own process, interleaved; reports the
 * median wall time of the embedding and scikit-learn's trustworthiness (k = 10) of both embeddings.
 *
 *   npm run build && nice -n 5 node lib/benchmarks/tsne.js [--n 5000] [--repeats 3] [--checkpoint CKPT] [--out work_dirs/benchmarks/tsne]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/index.js';
import { buildDataset } from '../src/data/index.js';
import { loadEvalModel } from '../src/eval/eval-model.js';
import { extractFeatureSets } from '../src/eval/extract-features.js';
import { knnDatasets } from '../src/eval/knn.js';
import { multiPooling } from '../src/analysis/tsne/multi-pooling.js';
import { tsne } from '../src/analysis/tsne/tsne.js';
import { initBackend } from '../src/engine/backend.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt?: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const pySide = join(repo, 'benchmarks', 'tsne_sklearn.py');
const oneThread = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', SSL_THREADS: '1' };

if (argv[0] === '--embed') {
  // child: ssl's t-SNE on the stored features, timed like scikit-learn's fit_transform (kNN + P + optimisation)
  const [, feats, n, dim, out] = argv;
  await initBackend('auto', { log: () => {}, threads: 1 });
  const x = new Float32Array(readFileSync(feats).buffer.slice(0));
  const t = performance.now();
  const r = tsne(x, Number(n), Number(dim), { seed: 0 });
  const seconds = (performance.now() - t) / 1000;
  writeFileSync(out, Buffer.from(r.embedding.buffer));
  console.log(JSON.stringify({ seconds, iterations: r.iterations, kl: r.kl }));
  process.exit(0);
}

const n = Number(flag('--n', '5000'));
const repeats = Number(flag('--repeats', '3'));
const out = flag('--out', 'work_dirs/benchmarks/tsne')!;
const checkpoint = flag('--checkpoint');
mkdirSync(out, { recursive: true });
const config = 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml';
const cfg = loadConfig(config) as Record<string, unknown>;
const model = cfg.model as Record<string, unknown>;
const withStage = { ...cfg, model: { ...model, backbone: { ...(model.backbone as object), out_indices: [4] } } };
const net = await loadEvalModel(withStage, { checkpoint, seed: 0, log: () => {} });
const full = await buildDataset(knnDatasets(cfg).val);
const dataset = { type: full.type, length: n, source: full.source, getItem: full.getItem.bind(full), getLabel: full.getLabel.bind(full) };
const { sets } = await extractFeatureSets(net, dataset, (outs) => multiPooling(outs, [4], 'adaptive'), { batchSize: 500 });
const dim = sets[0].dim;
const feats = join(out, `features-${n}x${dim}.f32`);
writeFileSync(feats, Buffer.from(sets[0].feats.buffer));
console.log(`features: ${n} x ${dim} (${checkpoint ?? 'random init'}) -> ${feats}`);

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const times: Record<'ssl' | 'sklearn', number[]> = { ssl: [], sklearn: [] };
const trust: Record<'ssl' | 'sklearn', number[]> = { ssl: [], sklearn: [] };
for (let r = 0; r < repeats; r++) {
  for (const who of (r % 2 === 0 ? ['ssl', 'sklearn'] : ['sklearn', 'ssl']) as ('ssl' | 'sklearn')[]) {
    const emb = join(out, `${who}-${r}.f64`);
    const res = who === 'ssl'
      ? execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--embed', feats, String(n), String(dim), emb], { env: oneThread, encoding: 'utf8' })
      : execFileSync('/usr/bin/python3', [pySide, 'embed', feats, String(n), String(dim), emb], { env: oneThread, encoding: 'utf8' });
    const { seconds } = JSON.parse(res.trim().split('\n').at(-1)!);
    const t = JSON.parse(execFileSync('/usr/bin/python3', [pySide, 'trust', feats, String(n), String(dim), emb], { env: oneThread, encoding: 'utf8' }).trim()).trustworthiness;
    times[who].push(seconds);
    trust[who].push(t);
    console.log(`run ${r + 1} ${who.padEnd(7)} ${seconds.toFixed(1)} s, trustworthiness ${t.toFixed(4)}`);
  }
}
const summary = {
  n, dim, repeats, checkpoint: checkpoint ?? null,
  ssl: { median_seconds: median(times.ssl), median_trustworthiness: median(trust.ssl), seconds: times.ssl, trustworthiness: trust.ssl },
  sklearn: { median_seconds: median(times.sklearn), median_trustworthiness: median(trust.sklearn), seconds: times.sklearn, trustworthiness: trust.sklearn },
};
console.log(`median: ssl ${summary.ssl.median_seconds.toFixed(1)} s (trust ${summary.ssl.median_trustworthiness.toFixed(4)}), scikit-learn ${summary.sklearn.median_seconds.toFixed(1)} s (trust ${summary.sklearn.median_trustworthiness.toFixed(4)}); time ratio ${(summary.ssl.median_seconds / summary.sklearn.median_seconds).toFixed(2)}`);
writeFileSync(join(out, 'tsne-benchmark.json'), JSON.stringify(summary, null, 2));
