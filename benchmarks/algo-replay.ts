/**
 * Fidelity and step time of the algorithms of tools/torch-algos-reference.py (RotationPred,
 * RelativeLoc, NPID) and tools/torch-momentum-algos-reference.py (DenseCL, MoCo v3) and
 * tools/torch-contrastive-algos-reference.py (SimCLR, MoCo v1/v2, BYOL, SimSiam, Barlow Twins) and
 * tools/torch-swav-reference.py (SwAV, multi-crop, queue, frozen prototypes, LARS).
 *
 * Fidelity: the PyTorch references (Debian python3-torch) write fresh fixtures to --out, ssl replays
 * them (algo-replay-lib.ts): step-0 loss of both, the worst step-0 gradient and the worst state entry
 * after the last step, relative.
 * Step time: ResNet-18 (CIFAR stem) training steps on one batch of --batch 32x32 images, SimCLR's and
 * each algorithm's, interleaved over --rounds rounds (median); the images the backbone sees per step
 * differ by algorithm (SimCLR 2N, RotationPred 4N, RelativeLoc 2x8N patches of 16x16, NPID N), so the
 * time per backbone image is printed too.
 *
 * Usage: npm run bench:algo-replay [-- --out /tmp/ssl-algo-replay --batch 32 --rounds 5 --backend native
 *        --skip-fidelity --skip-times --only densecl,DenseCL]  (--only: fixture and step-time case names)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import { singleProcessContext } from '../src/dist/trainer-context.js';
import { buildModel } from '../src/models/index.js';
import type { Batch } from '../src/models/contracts.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import { replay } from './algo-replay-lib.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: '/tmp/ssl-algo-replay' },
    batch: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'native' },
    'skip-fidelity': { type: 'boolean', default: false },
    'skip-times': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const SCRIPTS: [string, string[]][] = [
  ['tools/torch-algos-reference.py', ['rotation-pred', 'relative-loc', 'npid', 'deepcluster', 'odc', 'interclr']],
  ['tools/torch-momentum-algos-reference.py', ['densecl', 'densecl-grid', 'mocov3']],
  ['tools/torch-contrastive-algos-reference.py', ['simclr', 'mocov1', 'mocov2', 'byol', 'simsiam', 'barlowtwins']],
  ['tools/torch-swav-reference.py', ['swav']],
];
const NAMES = SCRIPTS.flatMap(([, names]) => names).filter((n) => !only || only.has(n));

if (!values['skip-fidelity']) {
  await initBackend('wasm', { log: () => {} });
  const py = '/usr/bin/python3';
  for (const [script, names] of SCRIPTS) {
    const wanted = names.filter((n) => NAMES.includes(n));
    if (wanted.length === 0) continue;
    const r = spawnSync(py, [join(root, script), '--out', values.out!, ...wanted], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${script} failed (needs python3-torch): ${r.stderr}`);
  }
  console.log(`fidelity (wasm vs PyTorch ${spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim()}, 5 SGD steps (SwAV: LARS), fixtures fresh in ${values.out})`);
  console.log('| algorithm | step-0 loss ssl | PyTorch | step-0 grads, max rel diff | after 5 steps, max rel diff (losses; params, BN stats, memory) |');
  console.log('|---|---|---|---|---|');
  for (const name of NAMES) {
    const x = await replay(join(values.out!, `algo-${name}.safetensors`));
    const worst = (m: Record<string, number>) => Math.max(...Object.values(m));
    const lossDiff = Math.max(...x.losses.map((l, i) => Math.abs(l - x.refLosses[i]) / Math.abs(x.refLosses[i])));
    console.log(`| ${name} | ${x.losses[0].toFixed(6)} | ${x.refLosses[0].toFixed(6)} | ${worst(x.gradErr).toExponential(1)} | ${lossDiff.toExponential(1)}; ${worst(x.finalErr).toExponential(1)} |`);
  }
}

// ---------------------------------------------------------------- step times
if (values['skip-times']) process.exit(0);
const backend = await initBackend(values.backend as 'native', { log: () => {} });
const n = Number(values.batch);
const backbone = { type: 'ResNet_CIFAR', depth: 18, out_indices: [4], norm_cfg: { type: 'BN' } };
const rand = (len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(0.37 * i) * 0.9);
const view = (b: number, s: number, c = 3) => ({ data: rand(b * s * s * c), shape: [b, s, s, c] });
const idx = Int32Array.from({ length: n }, (_, i) => i);
const CASES: { name: string; images: number; model: Record<string, unknown>; batch: Batch }[] = [
  {
    name: 'SimCLR', images: 2 * n,
    model: { type: 'SimCLR', backbone, neck: { type: 'NonLinearNeck', in_channels: 512, hid_channels: 2048, out_channels: 128, norm_cfg: { type: 'BN' } }, head: { type: 'ContrastiveHead', temperature: 0.1 } },
    batch: { views: [view(n, 32), view(n, 32)] },
  },
  {
    name: 'RotationPred', images: 4 * n,
    model: { type: 'RotationPred', backbone, head: { type: 'ClsHead', with_avg_pool: true, in_channels: 512, num_classes: 4 } },
    batch: { views: [view(4 * n, 32)], rot_label: { data: Int32Array.from({ length: 4 * n }, (_, i) => i % 4), shape: [4 * n] } },
  },
  {
    name: 'RelativeLoc', images: 16 * n,
    model: { type: 'RelativeLoc', backbone, neck: { type: 'RelativeLocNeck', in_channels: 512, out_channels: 4096 }, head: { type: 'ClsHead', in_channels: 4096, num_classes: 8 } },
    batch: { views: [view(8 * n, 16, 6)], patch_label: { data: Int32Array.from({ length: 8 * n }, (_, i) => i % 8), shape: [8 * n] } },
  },
  {
    name: 'NPID', images: n,
    model: {
      type: 'NPID', backbone, neck: { type: 'LinearNeck', in_channels: 512, out_channels: 128 }, head: { type: 'ContrastiveHead', temperature: 0.07 },
      memory_bank: { type: 'SimpleMemory', length: 50_000, feat_dim: 128, momentum: 0.5 }, neg_num: 4096,
    },
    batch: { views: [view(n, 32)], idx },
  },
  {
    name: 'DenseCL', images: 2 * n,
    model: {
      type: 'DenseCL', backbone, neck: { type: 'DenseCLNeck', in_channels: 512, hid_channels: 2048, out_channels: 128 }, head: { type: 'ContrastiveHead', temperature: 0.2 },
      queue_len: 65536, feat_dim: 128,
    },
    batch: { views: [view(n, 32), view(n, 32)] },
  },
  {
    // MMSelfSup's MoCo v3 configs use a ViT; here the same algorithm on the ResNet-18 (2 views through
    // the base encoder with gradients, 2 through the momentum encoder without)
    name: 'MoCoV3', images: 4 * n,
    model: {
      type: 'MoCoV3', backbone,
      neck: { type: 'NonLinearNeck', in_channels: 512, hid_channels: 2048, out_channels: 128, num_layers: 3, with_last_bn_affine: false, norm_cfg: { type: 'BN' } },
      head: {
        type: 'MoCoV3Head', temperature: 0.2,
        predictor: { type: 'NonLinearNeck', in_channels: 128, hid_channels: 2048, out_channels: 128, with_avg_pool: false, with_last_bn_affine: false, norm_cfg: { type: 'BN' } },
      },
    },
    batch: { views: [view(n, 32), view(n, 32)] },
  },
  {
    // MMSelfSup's deepcluster-sobel head (10,000 clusters) on the ResNet-18 with the Sobel layer
    name: 'DeepCluster', images: n,
    model: {
      type: 'DeepCluster', with_sobel: true, backbone: { ...backbone, in_channels: 2 }, neck: { type: 'AvgPool2dNeck' },
      head: { type: 'ClsHead', with_avg_pool: false, in_channels: 512, num_classes: 10000 },
    },
    batch: { views: [view(n, 32)], pseudo_label: Int32Array.from({ length: n }, (_, i) => (i * 7919) % 10000) },
  },
  {
    // ODC's neck, head and memory (50,000 samples, 10,000 clusters) on the ResNet-18
    name: 'ODC', images: n,
    model: {
      type: 'ODC', backbone, neck: { type: 'ODCNeck', in_channels: 512, hid_channels: 512, out_channels: 256, norm_cfg: { type: 'BN' } },
      head: { type: 'ClsHead', with_avg_pool: false, in_channels: 256, num_classes: 10000 },
      memory_bank: { type: 'ODCMemory', length: 50_000, feat_dim: 256, momentum: 0.5, num_classes: 10000, min_cluster: 20 },
    },
    batch: { views: [view(n, 32)], idx },
  },
].filter((c) => !only || c.name === 'SimCLR' || only.has(c.name));
const ctx = { dist: singleProcessContext() };
const built = CASES.map((c) => {
  manualSeed(0);
  const model = buildModel(c.model);
  // ODC: the memory DeepClusterHook(init_memory=True) leaves (random features, labels i mod k)
  const odc = model as unknown as { memoryBank?: { initMemory?: (f: { data: Float32Array; rows: number; cols: number }, l: Int32Array) => void; length: number; featDim: number; numClasses: number } };
  const mem = odc.memoryBank;
  if (mem?.initMemory) mem.initMemory({ data: rand(mem.length * mem.featDim), rows: mem.length, cols: mem.featDim }, Int32Array.from({ length: mem.length }, (_, i) => i % mem.numClasses));
  const { optimizer } = buildOptimizer(model.namedParameters(), { type: 'SGD', lr: 0.01, momentum: 0.9 });
  return { ...c, model, optimizer, times: [] as number[] };
});
const step = async (b: (typeof built)[number]) => {
  const t0 = performance.now();
  const out = await b.model.trainStep(b.batch, ctx);
  b.optimizer.step(out.grads);
  for (const g of out.grads.values()) g.dispose();
  return performance.now() - t0;
};
for (const b of built) await step(b); // warm-up (kernels, primitives, NPID's bank)
for (let r = 0; r < Number(values.rounds); r++) {
  const order = r % 2 === 0 ? built : [...built].reverse();
  for (const b of order) b.times.push(await step(b));
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const simclr = median(built[0].times) / built[0].images;
console.log(`\nstep times (${backend.name}, ResNet-18 CIFAR, batch ${n}, ${values.rounds} interleaved rounds, median)`);
console.log('| algorithm | backbone images / step | step, ms | ms per backbone image | vs SimCLR per image |');
console.log('|---|---|---|---|---|');
for (const b of built) {
  const m = median(b.times);
  console.log(`| ${b.name} | ${b.images} | ${m.toFixed(0)} | ${(m / b.images).toFixed(2)} | ${(((m / b.images) / simclr - 1) * 100).toFixed(0)} % |`);
}
if (!existsSync(values.out!)) console.log('(no fixtures written)');
