/** `hash01`, `hash_tensor` and `step_input` of tools/torch-algos-reference.py, so its fixtures need no stored weights or inputs. */
import { tf, type Tensor } from '../../src/engine/tf.js';
import type { Module } from '../../src/engine/module.js';
import { loadTorchStateDict, torchShape } from '../../src/engine/torch-layout.js';

const { sin, sqrt, floor } = Math;

function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h += (i + 1) * name.charCodeAt(i);
  return h % 997;
}

/** 2 frac(43758.5453 sin(12.9898 j + 78.233 salt)) - 1 for j = 0..n-1 (in double, as the reference). */
export function hash01(n: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const h = sin(12.9898 * j + 78.233 * salt) * 43758.5453;
    out[j] = 2 * (h - floor(h)) - 1;
  }
  return out;
}

/** Step k's batch, NHWC. */
export function stepInput(k: number, shape: number[]): Float32Array {
  return Float32Array.from(hash01(shape.reduce((a, b) => a * b, 1), k + 1));
}

/** The reference's initial value of state-dict entry `name` (PyTorch layout). */
export function hashTensor(name: string, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.split('.').pop()!;
  if (leaf === 'num_batches_tracked') return tf.zeros(shape, 'int32');
  const v = hash01(n, nameHash(name) + 1);
  const out = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    if (leaf === 'running_var') out[j] = 1 + 0.25 * (v[j] + 1);
    else if (leaf === 'running_mean') out[j] = 0.1 * v[j];
    else if (shape.length === 1 && leaf === 'weight') out[j] = 1 + 0.1 * v[j];
    else if (shape.length === 1) out[j] = 0.05 * v[j];
    else out[j] = v[j] * sqrt(3 / (n / shape[0]));
  }
  return tf.tensor(out, shape);
}

/** Fills every state-dict entry of `m` with `hashTensor` (strict). */
export function loadHashWeights(m: Module): void {
  const layouts = m.stateDictLayouts();
  const state = new Map<string, Tensor>();
  for (const [name, t] of m.stateDict()) state.set(name, hashTensor(name, torchShape(t.shape, layouts.get(name)!)));
  loadTorchStateDict(m, state, { strict: true });
  for (const t of state.values()) t.dispose();
}
