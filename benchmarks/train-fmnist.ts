/**
 * Fidelity benchmark (issue 5): trains a Fashion-MNIST config with the worker, then evaluates weighted
 * kNN of the trained and of the randomly initialised backbone. Prints per-epoch mean loss, wall time,
 * images/s and kNN top-1/top-5, and writes `<work-dir>/benchmark.json`.
 *
 *   npm run build && node lib/benchmarks/train-fmnist.js [CONFIG] [WORK_DIR] [--backend wasm] [--seed N] [--skip-random]
 *     [--knn-bank N --knn-query M]
 *
 * `--knn-bank`/`--knn-query`: the kNN bank and queries are N / M images evenly spaced over the train / test
 * split (SubsetDataset, the subset tools/torch-train-fmnist.py picks too) instead of all 60k / 10k.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { evaluateKnn, knnDatasets } from '../src/eval/knn.js';
import { runWorker } from '../src/runner/worker-main.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv.splice(i, 2)[1] : undefined;
};
const backend = flag('--backend') ?? 'wasm';
const seed = flag('--seed');
const skipRandom = argv.includes('--skip-random');
const knnBank = flag('--knn-bank');
const knnQuery = flag('--knn-query');
const positional = argv.filter((a) => !a.startsWith('--'));
const config = positional[0] ?? 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml';
const workDir = positional[1] ?? 'work_dirs/benchmarks/train-fmnist';

/** The config with its kNN bank / queries cut to evenly spaced subsets (none given: unchanged). */
function knnSubsets(c: Record<string, unknown>, bank?: string, query?: string): Record<string, unknown> {
  if (bank === undefined && query === undefined) return c;
  const { train, val } = knnDatasets(c);
  const sub = (d: Record<string, unknown>, n?: string) => (n === undefined || Number(n) === 0 ? d : { type: 'SubsetDataset', num_samples: Number(n), dataset: d });
  return { ...c, knn: { ...((c.knn as Record<string, unknown>) ?? {}), train: sub(train, bank), val: sub(val, query) } };
}

const cfg = loadConfig(config) as Record<string, unknown>;
const knnCfg = knnSubsets(cfg, knnBank, knnQuery);
const t0 = performance.now();
const code = await runWorker(['--config', config, '--work-dir', workDir, '--backend', backend, ...(seed === undefined ? [] : ['--seed', seed])]);
const trainSeconds = (performance.now() - t0) / 1000;
if (code !== 0) {
  console.error(`training failed with exit code ${code}`);
  process.exit(code);
}
const jsonLog = readdirSync(workDir).filter((f) => f.endsWith('.log.json')).sort().at(-1)!;
const lines = readFileSync(join(workDir, jsonLog), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
const epochs = lines.filter((l) => l.mode === 'train_epoch');
// IterBasedRunner runs have no epoch summaries: report the first and last logged interval instead.
const intervals = lines.filter((l) => l.mode === 'train');
const iters = epochs.length > 0 ? epochs.reduce((s, e) => s + (e.iters as number), 0) : Math.max(0, ...intervals.map((l) => l.iter as number));
const intervalLoss = intervals.length > 0 ? { first: intervals[0].loss as number, last: intervals.at(-1)!.loss as number, firstIter: intervals[0].iter, lastIter: intervals.at(-1)!.iter } : null;
const batch = (cfg.data as { samples_per_gpu: number }).samples_per_gpu;
const imagesPerSecond = (iters * batch) / trainSeconds;
const log = (m: string) => process.stderr.write(`${m}\n`);
const trained = await evaluateKnn(knnCfg, { checkpoint: join(workDir, 'latest.ckpt'), backend, log });
const random = skipRandom ? undefined : await evaluateKnn(knnCfg, { backend, log });
const summary = {
  config,
  backend,
  seed: seed === undefined ? (cfg.seed ?? null) : Number(seed),
  epochMeanLoss: epochs.map((e) => e.loss_mean),
  intervalLoss,
  trainSeconds,
  imagesPerSecond,
  knnTrained: trained,
  knnRandom: random,
};
writeFileSync(join(workDir, 'benchmark.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`config: ${config} (backend ${backend})`);
if (epochs.length > 0) console.log(`per-epoch mean loss: ${epochs.map((e) => (e.loss_mean as number).toFixed(4)).join(', ')}`);
if (intervalLoss) console.log(`logged interval loss: ${intervalLoss.first.toFixed(4)} at iteration ${String(intervalLoss.firstIter)} -> ${intervalLoss.last.toFixed(4)} at iteration ${String(intervalLoss.lastIter)}`);
console.log(`training: ${trainSeconds.toFixed(0)} s, ${imagesPerSecond.toFixed(1)} images/s (${iters} iterations x ${batch} images; PyTorch reference 98 images/s)`);
console.log(`kNN top-1 after training: ${trained.top1.toFixed(2)} (top-5 ${trained.top5.toFixed(2)}, k=${trained.k}, T=${trained.temperature})`);
if (random) console.log(`kNN top-1 random init: ${random.top1.toFixed(2)} (top-5 ${random.top5.toFixed(2)})`);
