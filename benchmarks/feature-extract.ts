/**
 * Feature extraction speed (issue 19): images/s of ssl's real extraction paths against PyTorch's
 * `with torch.no_grad(): model(x)` on the same backbone, the same images and batches and the same thread count.
 *
 * ssl rows (native engine, eval mode, the model built from a config as `ssl eval` builds it):
 * - `linear --cached`: extractPooled (src/eval/feature-cache.ts), what `ssl eval linear` runs once to fill its
 *   feature cache: the dataset built from its config, the data loader, backbone, the head's pooling, rows copied out;
 * - `knn/svm`: extractFeatureSets (src/eval/extract-features.ts) with kNN's head (global pool + L2), what `ssl eval
 *   knn` and `ssl eval svm` run (the dataset built once, outside the timing);
 * - `forward only`: backbone + global pool on batches already in engine tensors, the part PyTorch's row times.
 * The PyTorch row (benchmarks/feature_extract_torch.py, Debian's python3-torch) holds the images in one tensor and
 * times the forward and pooling of every batch. All runners of one thread count alternate within each round (order
 * reversed every other round); the table gives medians.
 *
 * Workloads: `fmnist-resnet18`: the Fashion-MNIST ResNet_CIFAR of
 * configs/benchmarks/classification/fmnist/resnet18-cifar_linear-1xb256-coslr-2e_fmnist.yaml (width 16, 1 channel,
 * 28²) on --images evenly spaced training images (SubsetDataset), batch 256 as the config; `resnet50`: ResNet-50 at
 * 224² on --r50-images SyntheticShapes images, batch 8.
 *
 *   npm run build && nice -n 5 node lib/benchmarks/feature-extract.js [--workloads fmnist-resnet18,resnet50]
 *     [--threads 1,2] [--repeats 3] [--images 2048] [--r50-images 32] [--clock wall|cpu] [--backbone B.pth]
 *     [--torch default,kept]
 *
 * `--torch`: PyTorch rows with glibc's default malloc, and with freed memory kept in the process (KEPT_MALLOC: no
 * page faults per forward; what jemalloc/tcmalloc or these variables give PyTorch deployments).
 *
 * `--clock cpu` times every run by its process's CPU time (all threads) on both sides: the figure that holds on a
 * loaded machine. `--backbone` loads an extracted Fashion-MNIST backbone (.pth) into both models.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { buildDataLoader, buildDataset } from '../src/data/index.js';
import { singleProcessContext } from '../src/dist/trainer-context.js';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import { tf, type Tensor } from '../src/engine/tf.js';
import { extractFeatureSets } from '../src/eval/extract-features.js';
import { extractPooled } from '../src/eval/feature-cache.js';
import { knnFeatureHead } from '../src/eval/knn.js';
import type { Classification } from '../src/models/algorithms/classification.js';
import { buildModel } from '../src/models/index.js';
import { loadWeights } from '../src/runner/load-weights.js';
import { median, startTorchProcess, timed as timedBy } from './bench-args.js';

const { values } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'fmnist-resnet18,resnet50' },
    threads: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '3' },
    images: { type: 'string', default: '2048' },
    'r50-images': { type: 'string', default: '32' },
    clock: { type: 'string', default: 'wall' },
    backbone: { type: 'string' },
    torch: { type: 'string', default: 'default,kept' },
  },
});
if (values.clock !== 'wall' && values.clock !== 'cpu') throw new Error(`--clock is wall or cpu, not ${values.clock}`);
const cpuClock = values.clock === 'cpu';
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const repeats = Number(values.repeats);
type Cfg = Record<string, unknown>;

interface Workload {
  title: string;
  model: Cfg;
  dataset: Cfg;
  images: number;
  batch: number;
}

function workload(name: string): Workload {
  if (name === 'fmnist-resnet18') {
    const cfg = loadConfig('configs/benchmarks/classification/fmnist/resnet18-cifar_linear-1xb256-coslr-2e_fmnist.yaml') as Cfg;
    const images = Number(values.images);
    const data = cfg.data as Cfg;
    return {
      title: `Fashion-MNIST ResNet-18-CIFAR (w16, 1 channel, 28²), ${images} training images, batch ${data.samples_per_gpu as number}`,
      model: cfg.model as Cfg,
      dataset: { type: 'SubsetDataset', num_samples: images, dataset: data.train },
      images,
      batch: data.samples_per_gpu as number,
    };
  }
  if (name === 'resnet50') {
    const images = Number(values['r50-images']);
    return {
      title: `ResNet-50, 224², ${images} SyntheticShapes images, batch 8`,
      model: {
        type: 'Classification',
        backbone: { type: 'ResNet', depth: 50, out_indices: [4], frozen_stages: 4, norm_cfg: { type: 'BN' } },
        head: { type: 'ClsHead', with_avg_pool: true, in_channels: 2048, num_classes: 1000 },
      },
      dataset: {
        type: 'SingleViewDataset',
        data_source: { type: 'SyntheticShapes', num_samples: images, image_size: 224, channels: 3, num_classes: 10 },
        pipeline: [{ type: 'ToTensor' }, { type: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
      },
      images,
      batch: 8,
    };
  }
  throw new Error(`unknown workload ${name}; choose fmnist-resnet18 or resnet50`);
}

function timed(fn: () => Promise<void>): Promise<number> {
  return timedBy(fn, cpuClock);
}

interface Runner {
  name: string;
  /** ms of one pass over every image. */
  run(): Promise<number>;
  close(): void;
}

/** The three ssl paths on one model; the native engine is switched to `threads` before each run. */
async function sslRunners(w: Workload, wName: string, threads: number): Promise<Runner[]> {
  const activate = () => initBackend('native', { log: () => {}, threads });
  await activate();
  manualSeed(0);
  const model = buildModel(w.model) as Classification;
  if (values.backbone && wName === 'fmnist-resnet18') await loadWeights(model, values.backbone, { what: '--backbone', warn: () => {}, into: 'model', requireBackbone: true });
  model.eval();
  const dist = singleProcessContext();
  const dataset = await buildDataset(w.dataset);
  // forward only: the same images as engine tensors, made once
  const batches: Tensor[] = [];
  const loader = buildDataLoader(dataset, { samplesPerGpu: w.batch, shuffle: false, dropLast: false, seed: 0, rank: 0, worldSize: 1, log: () => {} });
  for await (const b of loader.epoch(0)) batches.push(tf.tensor(b.views[0].data, [...b.views[0].shape], 'float32'));
  await loader.close();
  const label = ` (${threads} thread${threads > 1 ? 's' : ''})`;
  const runners: Runner[] = [
    { name: `ssl linear --cached${label}`, run: async () => { await activate(); return timed(async () => void (await extractPooled(model, w.dataset, w.batch, dist))); }, close: () => {} },
    { name: `ssl knn/svm${label}`, run: async () => { await activate(); return timed(async () => void (await extractFeatureSets(model, dataset, knnFeatureHead, { batchSize: w.batch }))); }, close: () => {} },
    {
      name: `ssl forward only${label}`,
      run: async () => {
        await activate();
        return timed(async () => {
          for (const b of batches) {
            const f = tf.tidy(() => model.head.poolFeatures(model.extractFeat(b))[0]);
            f.dataSync();
            f.dispose();
          }
        });
      },
      close: () => {
        batches.forEach((b) => b.dispose());
        model.dispose();
      },
    },
  ];
  for (const r of runners) await r.run(); // warm-up: primitive creation, the data source's first read
  return runners;
}

/**
 * glibc settings under which freed activations stay in the process: with the defaults, every block above the mmap
 * threshold goes back to the kernel when PyTorch frees it and the next forward page-faults it in again (at batch 256
 * on the Fashion-MNIST model that was most of PyTorch's CPU time on this machine: 1.8 M minor faults, 12 of 30 s).
 */
const KEPT_MALLOC = { MALLOC_MMAP_THRESHOLD_: '4294967296', MALLOC_TRIM_THRESHOLD_: '4294967296', MALLOC_TOP_PAD_: '536870912' };

/** PyTorch in a /usr/bin/python3 process that runs one pass per stdin line; `malloc` 'kept': {@link KEPT_MALLOC}. */
async function torchRunner(wName: string, w: Workload, threads: number, malloc: string): Promise<Runner | string> {
  const cfg = { workload: wName, threads, images: w.images, batch: w.batch, backbone: wName === 'fmnist-resnet18' ? values.backbone : undefined };
  const command = cpuClock ? 'run cpu' : 'run';
  const p = await startTorchProcess('feature_extract_torch.py', cfg, threads, { env: malloc === 'kept' ? KEPT_MALLOC : {}, warmUp: command });
  if (typeof p === 'string') return p;
  return { name: `pytorch ${p.version}${malloc === 'kept' ? ' malloc kept' : ''} (${threads} thread${threads > 1 ? 's' : ''})`, run: async () => Number(await p.ask(command)), close: p.close };
}

async function bench(wName: string): Promise<void> {
  const w = workload(wName);
  console.log(`\n## ${w.title}`);
  const mallocs = list(values.torch!);
  console.log(`runner                                    median ms   images/s  ${mallocs.map((m) => `vs torch ${m}`.padStart(16)).join('')}   runs (ms)`);
  for (const threads of list(values.threads!).map(Number)) {
    const runners = await sslRunners(w, wName, threads);
    const torchAt: number[] = [];
    for (const m of mallocs) {
      const t = await torchRunner(wName, w, threads, m);
      if (typeof t === 'string') console.log(t);
      else torchAt.push(runners.push(t) - 1);
    }
    const ms = runners.map(() => [] as number[]);
    for (let round = 0; round < repeats; round++) {
      const order = round % 2 === 0 ? runners.map((_, i) => i) : runners.map((_, i) => runners.length - 1 - i);
      for (const i of order) ms[i].push(await runners[i].run());
    }
    runners.forEach((r, i) => {
      const m = median(ms[i]);
      // > 1: ssl takes less time than that PyTorch row
      const ratios = torchAt.map((t) => (torchAt.includes(i) ? '-' : `${(median(ms[t]) / m).toFixed(2)}x`).padStart(16)).join('');
      console.log(`${r.name.padEnd(40)}  ${m.toFixed(0).padStart(9)}  ${((w.images * 1000) / m).toFixed(1).padStart(9)}  ${ratios}   ${ms[i].map((v) => v.toFixed(0)).join(', ')}`);
    });
    runners.forEach((r) => r.close());
  }
  console.log(`(load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
}

console.log(`feature extraction, ${cpuClock ? 'CPU time of the process per pass (--clock cpu)' : 'wall time per pass'}; ${repeats} rounds, runners alternating; vs torch X = PyTorch's time / ssl's (> 1: ssl faster). load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const name of list(values.workloads!)) await bench(name);
