import { Module } from '../module.js';
import { nativeKernelsTake } from '../native/kernels.js';
import { nativeGelu } from '../ops/gelu.js';
import { tf, type Tensor } from '../tf.js';

/** torch.nn.ReLU. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return tf.relu(x);
  }
}

/** Exact GELU (PyTorch's default, approximate='none'): x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export function gelu(x: Tensor): Tensor {
  if (nativeKernelsTake(x)) return nativeGelu(x);
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}

/** torch.nn.GELU. */
export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}

/** Builds an activation from an mmcv act_cfg (`{type: 'ReLU'|'GELU'}`). */
export function buildActivation(cfg: { type: string } | undefined): Module {
  switch (cfg?.type ?? 'ReLU') {
    case 'ReLU':
      return new ReLU();
    case 'GELU':
      return new GELU();
    default:
      throw new Error(`unsupported act_cfg type "${cfg?.type}" (ReLU or GELU)`);
  }
}
