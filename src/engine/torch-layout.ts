/**
 * The one place where tensors change between PyTorch and TensorFlow.js layouts:
 * conv kernels OIHW (PyTorch) <-> HWIO (here), linear weights out×in <-> in×out.
 * Everything else (biases, norms, tokens, position embeddings) is identical.
 */
import { SslError } from '../errors.js';
import type { Module, TorchLayout } from './module.js';
import { tf, type Tensor } from './tf.js';

/** PyTorch-layout shape of a TF.js-layout shape. */
export function torchShape(shape: readonly number[], layout: TorchLayout): number[] {
  if (layout === 'conv') return [shape[3], shape[2], shape[0], shape[1]];
  if (layout === 'linear') return [shape[1], shape[0]];
  return [...shape];
}

/** TF.js tensor -> a new tensor in PyTorch layout. */
export function toTorch(t: Tensor, layout: TorchLayout): Tensor {
  if (layout === 'conv') return tf.transpose(t, [3, 2, 0, 1]);
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  return tf.clone(t);
}

/** PyTorch-layout tensor -> a new tensor in TF.js layout. */
export function fromTorch(t: Tensor, layout: TorchLayout): Tensor {
  if (layout === 'conv') return tf.transpose(t, [2, 3, 1, 0]);
  if (layout === 'linear') return tf.transpose(t, [1, 0]);
  return tf.clone(t);
}

/** A module's state dict in PyTorch layout (new tensors; dispose them after use). */
export function torchStateDict(module: Module, prefix = ''): Map<string, Tensor> {
  const layouts = module.stateDictLayouts(prefix);
  const out = new Map<string, Tensor>();
  for (const [name, t] of module.stateDict(prefix)) out.set(name, toTorch(t, layouts.get(name)!));
  return out;
}

/**
 * Loads PyTorch-layout tensors (names = PyTorch state-dict names) into a module.
 * @throws SslError naming the first entry whose PyTorch shape differs (both shapes), or, when
 * strict, the missing/unexpected keys.
 */
export function loadTorchStateDict(
  module: Module,
  state: Map<string, Tensor>,
  options: { strict?: boolean } = {},
): { missingKeys: string[]; unexpectedKeys: string[] } {
  const layouts = module.stateDictLayouts();
  const own = module.stateDict();
  for (const [name, t] of state) {
    const mine = own.get(name);
    if (!mine) continue;
    const expected = torchShape(mine.shape, layouts.get(name)!);
    if (expected.length !== t.shape.length || expected.some((d, i) => d !== t.shape[i])) {
      throw new SslError(`size mismatch for ${name}: checkpoint has shape [${t.shape.join(', ')}], the model has [${expected.join(', ')}] (PyTorch layout)`, {
        code: 'STATE_DICT_MISMATCH',
      });
    }
  }
  const converted = new Map<string, Tensor>();
  for (const [name, t] of state) converted.set(name, layouts.has(name) ? fromTorch(t, layouts.get(name)!) : t);
  try {
    return module.loadStateDict(converted, options);
  } finally {
    for (const [name, t] of converted) if (layouts.has(name)) t.dispose();
  }
}
