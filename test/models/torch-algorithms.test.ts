/**
 * Algorithms against MMSelfSup's forward_train in PyTorch (tools/torch-algos-reference.py): same
 * hashed weights, same batches, same random draws (dropout masks, NPID negatives and memory init);
 * loss of step 0 within 1e-4, gradients of step 0 within 1e-3, and after 5 SGD steps (memory updates
 * included) every parameter, BN statistic and the memory bank within 1e-3.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { Module } from '../../src/engine/module.js';
import { decodeSafetensors, tensorFromRaw, type RawTensor } from '../../src/engine/safetensors.js';
import { tf, type Tensor } from '../../src/engine/tf.js';
import { toTorch } from '../../src/engine/torch-layout.js';
import { singleProcessContext } from '../../src/dist/trainer-context.js';
import { buildModel } from '../../src/models/index.js';
import type { Batch } from '../../src/models/contracts.js';
import type { NPID } from '../../src/models/algorithms/npid.js';
import { buildOptimizer } from '../../src/runner/optim/build.js';
import { loadHashWeights, stepInput } from './hash-weights.js';

/** max |a - b| / max(max |b|, floor). */
function relErr(a: Float32Array, b: Float32Array, floor = 0): number {
  let num = 0;
  let den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'torch');

const ints = (r: RawTensor) => Int32Array.from(tensorFromRaw(r).dataSync());

/** nn.Dropout replayed from the reference's masks. */
class MaskDropout extends Module {
  k = 0;
  constructor(readonly masks: Tensor[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return tf.div(tf.mul(x, this.masks[this.k++]), 0.5);
  }
}

export interface AlgoReplay {
  losses: number[];
  refLosses: number[];
  gradErr: Record<string, number>;
  finalErr: Record<string, number>;
}

/** Replays fixture `name` in ssl; returns ssl's and PyTorch's losses and the per-tensor relative errors. */
export async function replay(name: string): Promise<AlgoReplay> {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(FIXTURES, `algo-${name}.safetensors`)));
  const get = (k: string) => tensors.get(k)!;
  const model = buildModel(JSON.parse(metadata.model));
  loadHashWeights(model);
  model.train(true);
  const neck = (model as unknown as { neck?: { dropout?: unknown } }).neck;
  if (neck && 'dropout' in neck) {
    neck.dropout = new MaskDropout([...tensors.keys()].filter((k) => k.startsWith('dropout.')).sort().map((k) => tensorFromRaw(get(k))));
  }
  if (tensors.has('memory.init')) {
    const npid = model as unknown as NPID;
    npid.memoryBank.featureBank.set(tensorFromRaw(get('memory.init')).dataSync());
    let k = 0;
    npid.drawNegatives = () => ints(get(`neg_idx.${k++}`));
  }
  const { optimizer } = buildOptimizer(model.namedParameters(), JSON.parse(metadata.optimizer));
  const shape = JSON.parse(metadata.shape) as number[];
  const layouts = model.stateDictLayouts();
  const losses: number[] = [];
  const gradErr: Record<string, number> = {};
  const ctx = { dist: singleProcessContext() };
  for (let k = 0; k < Number(metadata.steps); k++) {
    const batch: Batch = { views: [{ data: stepInput(k, shape), shape }] };
    for (const key of ['rot_label', 'patch_label']) if (tensors.has(`${key}.${k}`)) batch[key] = { data: ints(get(`${key}.${k}`)), shape: [] };
    if (tensors.has(`idx.${k}`)) batch.idx = ints(get(`idx.${k}`));
    const out = await model.trainStep(batch, ctx);
    losses.push(out.loss);
    if (k === 0) {
      // a parameter whose gradient is zero in exact arithmetic (a Linear bias before BatchNorm) is
      // compared relative to 1e-3 of the largest gradient instead of to its own rounding noise
      const refs = new Map([...out.grads.keys()].map((n) => [n, tensorFromRaw(get(`grad.${n}`)).dataSync() as Float32Array]));
      const floor = 1e-3 * Math.max(...[...refs.values()].map((r) => r.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
      for (const [n, g] of out.grads) {
        const mine = tf.tidy(() => toTorch(g, layouts.get(n)!));
        gradErr[n] = relErr(mine.dataSync() as Float32Array, refs.get(n)!, floor);
        mine.dispose();
      }
    }
    optimizer.step(out.grads);
    for (const g of out.grads.values()) g.dispose();
  }
  const finalErr: Record<string, number> = {};
  for (const [n, t] of model.stateDict()) {
    const r = tensors.get(`final.${n}`);
    if (!r) continue;
    const mine = tf.tidy(() => toTorch(t, layouts.get(n)!));
    finalErr[n] = relErr(mine.dataSync() as Float32Array, tensorFromRaw(r).dataSync() as Float32Array);
    mine.dispose();
  }
  if (tensors.has('memory.final')) {
    finalErr['memory_bank'] = relErr((model as unknown as NPID).memoryBank.featureBank, tensorFromRaw(get('memory.final')).dataSync() as Float32Array);
  }
  optimizer.dispose();
  model.dispose();
  return { losses, refLosses: [...tensorFromRaw(get('loss')).dataSync()], gradErr, finalErr };
}

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test.each(['rotation-pred', 'relative-loc', 'npid'])('%s equals MMSelfSup forward_train in PyTorch over 5 SGD steps', async (name) => {
  const r = await replay(name);
  expect(Math.abs(r.losses[0] - r.refLosses[0]) / Math.abs(r.refLosses[0])).toBeLessThan(1e-4);
  expect(Object.keys(r.gradErr).length).toBeGreaterThan(10);
  const worst = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1])[0];
  expect(worst(r.gradErr)[1]).toBeLessThan(1e-3);
  r.losses.forEach((l, i) => expect(Math.abs(l - r.refLosses[i]) / Math.abs(r.refLosses[i])).toBeLessThan(1e-3));
  expect(worst(r.finalErr)[1]).toBeLessThan(1e-3);
}, 60_000);
