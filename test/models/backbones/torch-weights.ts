/** The weight formula of tools/torch-reference.py, so big reference models need no stored weights. */
import { tf, type Tensor } from '../../../src/engine/tf.js';
import type { Module } from '../../../src/engine/module.js';
import { loadTorchStateDict, torchShape } from '../../../src/engine/torch-layout.js';

const { sin, sqrt } = Math; // bound once: global lookups are slow in jest's vm context

function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h += (i + 1) * name.charCodeAt(i);
  return h % 997;
}

/** v_j = sin(0.618 j + 0.1 h(name)) scaled by the entry's kind, in PyTorch layout. */
export function formulaTensor(name: string, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const leaf = name.split('.').pop()!;
  if (leaf === 'num_batches_tracked') return tf.zeros(shape, 'int32');
  const h = nameHash(name);
  const out = new Float32Array(n);
  const fanIn = n / shape[0];
  for (let j = 0; j < n; j++) {
    const v = sin(0.618 * j + 0.1 * h);
    if (leaf === 'running_var') out[j] = 1 + 0.25 * (v + 1);
    else if (leaf === 'running_mean') out[j] = 0.1 * v;
    else if (leaf === 'cls_token' || leaf === 'pos_embed' || leaf === 'mask_token') out[j] = 0.02 * v;
    else if (shape.length === 1 && leaf === 'weight') out[j] = 1 + 0.1 * v;
    else if (shape.length === 1) out[j] = 0.05 * v;
    else out[j] = v * sqrt(3 / fanIn);
  }
  return tf.tensor(out, shape);
}

/** Fills every state-dict entry of `m` from the formula (strict: names must all exist). */
export function loadFormulaWeights(m: Module): void {
  const layouts = m.stateDictLayouts();
  const state = new Map<string, Tensor>();
  for (const [name, t] of m.stateDict()) state.set(name, formulaTensor(name, torchShape(t.shape, layouts.get(name)!)));
  loadTorchStateDict(m, state, { strict: true });
  for (const t of state.values()) t.dispose();
}
