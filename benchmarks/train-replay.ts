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
 * Usage: npm run bench:replay [-- --config C --steps 12 --seed 0 --out /tmp/replay --backend native --cfg-options k=v ...]
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
    'cfg-options': { type: 'string', multiple: true, default: [] },
  },
});
const steps = Number(values.steps);
const seed = Number(values.seed);
const out = values.out!;
mkdirSync(out, { recursive: true });

await initBackend(values.backend as 'wasm', { log: () => {} });
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
let torchLosses: number[] = [];
let states: Record<string, number> = {};
if (torchOk) {
  const r = spawnSync(py, [join(root, 'tools/torch-train-replay.py'), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch-train-replay.py failed: ${r.stderr}`);
  ({ losses: torchLosses, states } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { losses: number[]; states: Record<string, number> });
}
console.log(`${values.config}: seed ${seed}, ${k} steps at lr ${String(optimizerCfg.lr)}, same init and batches (${values.backend} vs PyTorch)`);
console.log('step  ssl loss   PyTorch loss  rel diff');
losses.forEach((l, i) => {
  const t = torchLosses[i];
  console.log(`${String(i).padStart(4)}  ${l.toFixed(5)}    ${t === undefined ? '   -   ' : t.toFixed(5)}     ${t === undefined ? '-' : (Math.abs(l - t) / Math.abs(t)).toExponential(1)}`);
});
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
