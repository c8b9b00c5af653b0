/**
 * Fidelity replay: the first K SGD steps of a SimCLR, MoCo v2 or BYOL config, run by ssl and by
 * PyTorch on the SAME initial weights (momentum encoders and MoCo's queue included) and the SAME
 * augmented batches, side by side. It separates "the trainer computes something else" from "the
 * recipe itself behaves this way from this start".
 *
 * ssl builds the model (seed S), writes its initial weights (PyTorch names and layouts) and the K
 * batches its real training loader yields, and trains K steps with the config's optimizer at the
 * first iteration's lr; BYOL's target network is updated after each step at `base_momentum` (what
 * BYOLHook sets at iteration 0). `tools/torch-train-replay.py` (Debian python3-torch) then loads both
 * and does the same in PyTorch 1.13 (ResNet_CIFAR, MoCoV2Neck / NonLinearNeck, MMSelfSup 0.x's
 * SimCLR, MoCo and BYOL forward_train). At the end it compares every weight, buffer (BN statistics,
 * momentum encoders, queue) of the two models: the largest |ssl − torch| / max |torch| per tensor.
 *
 * `--precision bf16` runs ssl's convolutions and matmuls in bf16 (native engine); `--torch-bf16` also
 * trains PyTorch under `torch.autocast('cpu', torch.bfloat16)` from the same start, for how far
 * PyTorch's own bf16 strays from its fp32 run. The summary gives the step-0 and the largest per-step
 * relative loss difference and, since per-step losses are noisy (each step sees another batch), the
 * largest difference of 10-step means.
 *
 * Usage: npm run bench:replay [-- --config C --steps 12 --seed 0 --out /tmp/replay --backend native
 *          --precision fp32|bf16 --threads N --torch-bf16 --cfg-options k=v ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import { encodeSafetensors, rawFromTensor, saveWeights, type RawTensor } from '../src/engine/safetensors.js';
import { tf } from '../src/engine/tf.js';
import { buildTrainLoader } from '../src/data/train-loader.js';
import { buildModel } from '../src/models/index.js';
import { buildOptimizer } from '../src/runner/optim/build.js';
import type { Batch } from '../src/models/contracts.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    config: { type: 'string', default: join(root, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb256-coslr-2e_fmnist.yaml') },
    steps: { type: 'string', default: '12' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: '/tmp/ssl-train-replay' },
    backend: { type: 'string', default: 'wasm' },
    precision: { type: 'string', default: 'fp32' },
    threads: { type: 'string' },
    'torch-bf16': { type: 'boolean', default: false },
    'cfg-options': { type: 'string', multiple: true, default: [] },
  },
});
const steps = Number(values.steps);
const seed = Number(values.seed);
const out = values.out!;
mkdirSync(out, { recursive: true });

const choice = await initBackend(values.backend as 'wasm', { log: () => {}, precision: values.precision, threads: values.threads });
if (choice.precision !== values.precision) throw new Error(`--precision ${values.precision} needs the native backend and a CPU with bf16; got ${choice.name} in ${choice.precision}`);
const cfg = loadConfig(values.config!, { cfgOptions: values['cfg-options']! });
manualSeed(seed);
const model = buildModel(cfg.model);
model.train(true);
await saveWeights(model, join(out, 'init.safetensors'));
const optimizerCfg = cfg.optimizer as Record<string, unknown>;
const { optimizer } = buildOptimizer(model.namedParameters(), optimizerCfg);
const loader = await buildTrainLoader(cfg, { seed, rank: 0, worldSize: 1 });
const batches: Map<string, RawTensor> = new Map();
const losses: number[] = [];
let k = 0;
for await (const batch of loader.epoch(0) as AsyncIterable<Batch>) {
  if (k === steps) break;
  batch.views.forEach((v, i) => batches.set(`b${k}.v${i + 1}`, rawFromTensor(tf.tensor(v.data, [...v.shape]))));
  const o = await model.trainStep(batch, { dist: { rank: 0, worldSize: 1 } as never });
  losses.push(o.loss);
  optimizer.step(o.grads);
  for (const g of o.grads.values()) g.dispose();
  (model as unknown as { momentumUpdate?: () => void }).momentumUpdate?.();
  k++;
}
await saveWeights(model, join(out, 'final.safetensors'));
await (loader as { close?: () => Promise<void> }).close?.();
writeFileSync(join(out, 'batches.safetensors'), encodeSafetensors(batches, {}));
writeFileSync(join(out, 'recipe.json'), JSON.stringify({ model: cfg.model, optimizer: optimizerCfg, steps: k }));

const py = '/usr/bin/python3';
const torchOk = existsSync(py) && spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
type TorchRun = { losses: number[]; states: Record<string, number> };
const torchRun = (...extra: string[]): TorchRun => {
  const r = spawnSync(py, [join(root, 'tools/torch-train-replay.py'), out, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch-train-replay.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun;
};
const { losses: torchLosses, states } = torchOk ? torchRun() : { losses: [] as number[], states: {} as Record<string, number> };
const torchBf16 = torchOk && values['torch-bf16'] ? torchRun('--autocast-bf16').losses : [];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
console.log(`${values.config}: seed ${seed}, ${k} steps at lr ${String(optimizerCfg.lr)}, same init and batches (${values.backend} ${choice.precision} vs PyTorch fp32)`);
console.log(`step  ssl loss   PyTorch loss  rel diff${torchBf16.length ? '   PyTorch bf16 autocast  its rel diff to PyTorch fp32' : ''}`);
losses.forEach((l, i) => {
  const t = torchLosses[i];
  const b = torchBf16[i];
  console.log(
    `${String(i).padStart(4)}  ${l.toFixed(5)}    ${t === undefined ? '   -   ' : t.toFixed(5)}     ${t === undefined ? '-' : rel(l, t).toExponential(1)}` +
      (b === undefined ? '' : `      ${b.toFixed(5)}              ${rel(b, t).toExponential(1)}`),
  );
});
/** Step 0, the worst step and the worst 10-step mean of `a` against `ref`. */
const summary = (label: string, a: number[], ref: number[]) => {
  const n = Math.min(a.length, ref.length);
  if (!n) return;
  const diffs = a.slice(0, n).map((v, i) => rel(v, ref[i]));
  const worst = diffs.reduce((w, d, i) => (d > diffs[w] ? i : w), 0);
  const windows: string[] = [];
  let worstWindow = 0;
  for (let s = 0; s + 10 <= n; s += 10) {
    const mean = (x: number[]) => x.slice(s, s + 10).reduce((p, q) => p + q, 0) / 10;
    const d = rel(mean(a), mean(ref));
    worstWindow = Math.max(worstWindow, d);
    windows.push(d.toExponential(1));
  }
  console.log(`${label}: step 0 ${diffs[0].toExponential(1)}, max over ${n} steps ${diffs[worst].toExponential(1)} (step ${worst})` +
    (windows.length ? `, 10-step means max ${worstWindow.toExponential(1)} (${windows.join(' ')})` : ''));
};
summary(`ssl ${values.backend} ${choice.precision} vs PyTorch fp32`, losses, torchLosses);
summary('PyTorch bf16 autocast vs PyTorch fp32', torchBf16, torchLosses);
const worst = Object.entries(states).sort((a, b) => b[1] - a[1]);
if (worst.length) {
  const group = (pick: (n: string) => boolean) => worst.filter(([n]) => pick(n));
  const show = (label: string, rows: [string, number][]) =>
    rows.length && console.log(`${label}: max rel diff ${rows[0][1].toExponential(1)} (${rows[0][0]}; ${rows.length} tensors)`);
  console.log(`after ${k} steps, ssl vs PyTorch, max |ssl - torch| / max |torch| per tensor:`);
  show('  trained weights', group((n) => !/running_|num_batches|queue|encoder_k|target_net/.test(n)));
  show('  BN running statistics', group((n) => /running_/.test(n) && !/encoder_k|target_net/.test(n)));
  show('  momentum encoder (EMA)', group((n) => /encoder_k|target_net/.test(n) && !/num_batches/.test(n)));
  show('  MoCo queue', group((n) => /queue$/.test(n)));
}
if (!torchOk) console.log('(PyTorch side skipped: /usr/bin/python3 has no torch; apt-get install python3-torch)');
