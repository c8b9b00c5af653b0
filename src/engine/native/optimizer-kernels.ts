/**
 * The native engine's fused optimizer updates: one kernel per parameter computes the new value and
 * the new slots (momentum buffer; Adam's moments) in one pass, as new tensors (see
 * native/src/optimizers.cc for why not in place). `ops/fused-updates.ts` calls them.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { heap, offset, size, type KernelArgs, type NativeKernel } from './heap.js';

export const OPTIMIZER_KERNEL_NAMES = ['SslSgdUpdate', 'SslAdamUpdate'];

export function optimizerKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return { SslSgdUpdate: (a) => sgdUpdate(addon, a), SslAdamUpdate: (a) => adamUpdate(addon, a) };
}

/** {param, grad, buf?} -> [param', buf'] (buf' only with momentum). */
function sgdUpdate(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { param, grad, buf } = args.inputs;
  const a = args.attrs as { lr: number; weightDecay: number; momentum: number; dampening: number; nesterov: boolean; larsEta: number; larsEps: number };
  const b = args.backend;
  const n = size(param.shape);
  const out = [b.makeOutput([...param.shape], 'float32')];
  if (a.momentum !== 0) out.push(b.makeOutput([...param.shape], 'float32'));
  addon.sgdUpdate(heap(b), n, a.lr, a.weightDecay, a.momentum, a.dampening, a.nesterov, Boolean(buf), a.larsEta, a.larsEps, offset(b, param), offset(b, grad), buf ? offset(b, buf) : 0, offset(b, out[0]), out[1] ? offset(b, out[1]) : 0);
  return out;
}

/** {param, grad, m?, v?, vmax?} -> [param', m', v', vmax'?]. */
function adamUpdate(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { param, grad, m, v, vmax } = args.inputs;
  const a = args.attrs as { lr: number; weightDecay: number; beta1: number; beta2: number; eps: number; step: number; decoupled: boolean; amsgrad: boolean };
  const b = args.backend;
  const out = Array.from({ length: a.amsgrad ? 4 : 3 }, () => b.makeOutput([...param.shape], 'float32'));
  const at = (t?: TensorInfo) => (t ? offset(b, t) : 0);
  addon.adamUpdate(heap(b), size(param.shape), a.lr, a.weightDecay, a.beta1, a.beta2, a.eps, a.step, a.decoupled, a.amsgrad, Boolean(m), offset(b, param), offset(b, grad), at(m), at(v), at(vmax), at(out[0]), at(out[1]), at(out[2]), at(out[3]));
  return out;
}
