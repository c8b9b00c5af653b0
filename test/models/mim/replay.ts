/** Replays a fixture of tools/torch-mim-reference.py: same weights, images and masking, then AdamW steps. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scalar } from '@tensorflow/tfjs-core';
import { tf, type Tensor, type Variable } from '../../../src/engine/tf.js';
import { decodeSafetensors, tensorFromRaw } from '../../../src/engine/safetensors.js';
import { loadTorchStateDict, toTorch } from '../../../src/engine/torch-layout.js';
import { buildModel } from '../../../src/models/index.js';
import type { BaseAlgorithm, LossDict } from '../../../src/models/algorithms/base.js';
import { buildOptimizer } from '../../../src/runner/optim/build.js';

/**
 * Parameters whose gradient is zero analytically because softmax ignores a shift shared by all keys:
 * the LayerNorm bias in front of CAE's bias-free key projection.
 */
const ZERO_GRADIENT = /norm1_k_cross\.bias$/;

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'torch');

/** max |a - b| / max |b| */
export function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / Math.max(den, 1e-12);
}

export interface ReplayResult {
  losses: number[];
  refLosses: number[];
  /** worst relative gradient error at step 0, and its parameter */
  gradErr: { name: string; err: number };
  gradCount: number;
  /** worst relative weight error after the steps */
  finalErr: { name: string; err: number };
}

/**
 * Builds `metadata.model`, loads `init.*`, and runs `steps` AdamW steps of `lossOf(input, mask.k)`.
 * `lossOf` is the algorithm's forward_train with its randomness given (`step` k); `prepare` runs after
 * the build, before the weights load (CAE builds its tokenizer there).
 */
export function replayFixture(
  file: string,
  lossOf: (model: BaseAlgorithm, img: Tensor, mask: Tensor, step: number) => LossDict,
  options: { prepare?: (model: BaseAlgorithm) => void } = {},
): ReplayResult {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(FIXTURES, file)));
  const get = (k: string) => tensorFromRaw(tensors.get(k)!);
  const model = buildModel(JSON.parse(metadata.model));
  const init = new Map<string, Tensor>();
  for (const k of tensors.keys()) if (k.startsWith('init.')) init.set(k.slice(5), get(k));
  options.prepare?.(model);
  loadTorchStateDict(model, init, { strict: true });
  init.forEach((t) => t.dispose());
  model.train(true);
  const layouts = model.stateDictLayouts();
  const { optimizer } = buildOptimizer(model.namedParameters(), JSON.parse(metadata.optimizer));
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  const nameOf = new Map(params.map(([n, v]) => [v.name, n]));
  const img = get('input');
  const steps = Number(metadata.steps);
  const out: ReplayResult = { losses: [], refLosses: [], gradErr: { name: '', err: 0 }, gradCount: 0, finalErr: { name: '', err: 0 } };
  for (let k = 0; k < steps; k++) {
    const mask = get(`mask.${k}`);
    const { value, grads } = tf.variableGrads(() => tf.mean(lossOf(model, img, mask, k).loss) as Scalar, params.map(([, v]) => v as Variable));
    out.losses.push(value.dataSync()[0]);
    out.refLosses.push(tensors.get(`loss.${k}`) ? get(`loss.${k}`).dataSync()[0] : NaN);
    const byName = new Map<string, Tensor>();
    for (const [vname, g] of Object.entries(grads)) byName.set(nameOf.get(vname)!, g);
    if (k === 0) {
      for (const [name, g] of byName) {
        const refKey = `grad.${name}`;
        if (!tensors.has(refKey)) throw new Error(`no reference gradient for ${name}`);
        // a gradient that is zero analytically is float noise on both sides: compare it absolutely
        const err = tf.tidy(() => (ZERO_GRADIENT.test(name) ? tf.max(tf.abs(g)).dataSync()[0] : relErr(toTorch(g, layouts.get(name)!), get(refKey))));
        out.gradCount++;
        if (err > out.gradErr.err) out.gradErr = { name, err };
      }
    }
    optimizer.step(byName);
    value.dispose();
    mask.dispose();
    byName.forEach((g) => g.dispose());
  }
  for (const [name, t] of model.stateDict()) {
    if (ZERO_GRADIENT.test(name)) continue; // Adam turns its float-noise gradient into ±lr steps on both sides
    const err = tf.tidy(() => {
      let [mine, theirs] = [toTorch(t, layouts.get(name)!), get(`final.${name}`)];
      if (/attn\.qkv\.bias$/.test(name)) {
        // The key bias's gradient is zero analytically (softmax ignores a shift shared by all keys):
        // both sides get float noise there, which Adam normalises to ±lr steps. Compare q and v.
        const d = mine.shape[0] / 3;
        [mine, theirs] = [mine, theirs].map((x) => tf.concat([tf.slice(x, [0], [d]), tf.slice(x, [2 * d], [d])]));
      }
      return relErr(mine, theirs);
    });
    if (err > out.finalErr.err) out.finalErr = { name, err };
  }
  img.dispose();
  optimizer.dispose();
  model.dispose();
  return out;
}
