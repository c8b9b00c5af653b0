/**
 * bf16 error per step, free of trajectory divergence: along ssl's own fp32 run from the initial
 * weights and batches that `train-replay.ts` wrote (its `--out` directory), each step computes the
 * loss and the gradients at the same weights in fp32 and in bf16 (native engine) and prints the
 * loss difference, and the cosine and norm ratio of the whole gradient; the fp32 gradients train
 * on. Then PyTorch's own bf16 (torch.autocast) on the first batch at the initial weights, the
 * yardstick (tools/torch-bf16-grads.py). The 50-step loss curves of two runs of this chaotic early
 * phase part ways even in fp32 (see benchmarks/README.md), so this is the measure of what bf16 does
 * to one step.
 *
 * Usage: npm run build && node lib/benchmarks/train-replay.js --backend native --seed 2 --steps 20 --out DIR
 *        node lib/benchmarks/bf16-fidelity.js --replay DIR [--steps 20]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/engine/backend.js';
import { manualSeed } from '../src/engine/random.js';
import { decodeSafetensors, loadWeights, tensorFromRaw } from '../src/engine/safetensors.js';
import type { Tensor } from '../src/engine/tf.js';
import type { Batch } from '../src/models/contracts.js';
import { buildModel } from '../src/models/index.js';
import { buildOptimizer } from '../src/runner/optim/build.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { replay: { type: 'string' }, steps: { type: 'string', default: '20' } } });
if (!values.replay || !existsSync(join(values.replay, 'recipe.json'))) throw new Error('--replay DIR: the --out directory of a train-replay.js run');
const dir = values.replay;
const recipe = JSON.parse(readFileSync(join(dir, 'recipe.json'), 'utf8')) as { model: unknown; optimizer: Record<string, unknown>; steps: number };
const steps = Math.min(Number(values.steps), recipe.steps);

const precision = async (p: 'fp32' | 'bf16') => {
  const choice = await initBackend('native', { log: () => {}, threads: 1, precision: p });
  if (choice.precision !== p) throw new Error(`this CPU has no bf16 (${choice.reason})`);
};
await precision('fp32');
manualSeed(0);
const model = buildModel(recipe.model);
model.train(true);
await loadWeights(model, join(dir, 'init.safetensors'));
const { optimizer } = buildOptimizer(model.namedParameters(), recipe.optimizer);
const batches = decodeSafetensors(readFileSync(join(dir, 'batches.safetensors'))).tensors;
const view = (k: number, i: number) => {
  const t = tensorFromRaw(batches.get(`b${k}.v${i}`)!);
  const v = { data: (t.dataSync() as Float32Array).slice(), shape: [...t.shape] };
  t.dispose();
  return v;
};
const flat = (grads: Map<string, Tensor>) => [...grads.values()].flatMap((t) => Array.from(t.dataSync()));
const ctx = { dist: { rank: 0, worldSize: 1 } } as never;

console.log(`${dir}: ${steps} steps along ssl's fp32 run, bf16 at the same weights each step (native, 1 thread)`);
console.log('step  loss fp32   loss bf16   rel diff   gradient cos   norm bf16/fp32');
let worst = 0;
for (let k = 0; k < steps; k++) {
  const batch: Batch = { views: [view(k, 1), view(k, 2)] };
  await precision('bf16');
  const b = await model.trainStep(batch, ctx);
  const gb = flat(b.grads);
  for (const g of b.grads.values()) g.dispose();
  await precision('fp32');
  const f = await model.trainStep(batch, ctx);
  const gf = flat(f.grads);
  let dot = 0;
  let nf = 0;
  let nb = 0;
  for (let i = 0; i < gf.length; i++) {
    dot += gf[i] * gb[i];
    nf += gf[i] * gf[i];
    nb += gb[i] * gb[i];
  }
  const rel = Math.abs(b.loss - f.loss) / Math.abs(f.loss);
  worst = Math.max(worst, rel);
  console.log(`${String(k).padStart(4)}  ${f.loss.toFixed(5)}    ${b.loss.toFixed(5)}    ${rel.toExponential(1)}    ${(dot / Math.sqrt(nf * nb)).toFixed(5)}        ${Math.sqrt(nb / nf).toFixed(4)}`);
  optimizer.step(f.grads);
  for (const g of f.grads.values()) g.dispose();
}
console.log(`largest loss difference at the same weights: ${worst.toExponential(1)}`);
const r = spawnSync('/usr/bin/python3', [join(root, 'tools/torch-bf16-grads.py'), dir, '0'], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
console.log(r.status === 0 ? `PyTorch's autocast bf16, ${r.stdout.trim()}` : `(PyTorch side not run: ${r.stderr.trim().split('\n').pop()})`);
