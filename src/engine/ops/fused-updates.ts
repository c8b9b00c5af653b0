/**
 * Optimizer updates as one native kernel per parameter (new value and new slots in one pass) when
 * the native engine is installed; `null` elsewhere, and the optimizer runs its TF.js ops.
 */
import { nativeKernelsTake } from '../native/kernels.js';
import { tf, type Tensor } from '../tf.js';

export interface SgdUpdateArgs {
  lr: number;
  weightDecay: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** LARS: eta of the trust ratio, `eps` its denominator's; `exclude` = trust ratio 1 (lars_exclude). */
  lars?: { eta: number; eps: number; exclude: boolean };
}

/** SGD/LARS: -> [param', momentum buffer'] (no buffer without momentum), or null off the native engine. */
export function fusedSgdUpdate(param: Tensor, grad: Tensor, buf: Tensor | undefined, a: SgdUpdateArgs): [Tensor, Tensor | undefined] | null {
  if (!nativeKernelsTake(param) || grad.dtype !== 'float32' || (buf && buf.dtype !== 'float32')) return null;
  const larsEta = a.lars ? (a.lars.exclude ? -1 : a.lars.eta) : 0;
  const inputs: Record<string, Tensor> = buf && a.momentum !== 0 ? { param, grad, buf } : { param, grad };
  const [p, b] = tf.engine().runKernel('SslSgdUpdate', inputs, { lr: a.lr, weightDecay: a.weightDecay, momentum: a.momentum, dampening: a.dampening, nesterov: a.nesterov, larsEta, larsEps: a.lars?.eps ?? 0 } as never) as Tensor[];
  return [p, b];
}

export interface AdamUpdateArgs {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count (bias correction). */
  step: number;
  decoupled: boolean;
  amsgrad: boolean;
}

/** Adam/AdamW: -> [param', exp_avg', exp_avg_sq', max_exp_avg_sq'?], or null off the native engine. */
export function fusedAdamUpdate(param: Tensor, grad: Tensor, state: { m?: Tensor; v?: Tensor; vmax?: Tensor }, a: AdamUpdateArgs): Tensor[] | null {
  if (!nativeKernelsTake(param) || grad.dtype !== 'float32') return null;
  const { m, v, vmax } = state;
  if (Boolean(m) !== Boolean(v) || (m && a.amsgrad && !vmax)) return null;
  const inputs: Record<string, Tensor> = m && v ? { param, grad, m, v } : { param, grad };
  if (m && a.amsgrad && vmax) inputs.vmax = vmax;
  return tf.engine().runKernel('SslAdamUpdate', inputs, { ...a } as never) as Tensor[];
}
