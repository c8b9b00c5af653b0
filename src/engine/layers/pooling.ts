import { Module } from '../module.js';
import { pair, tfPadding, type Padding } from '../ops/conv.js';
import { tf, type Tensor4D } from '../tf.js';

/** Window pooling on NHWC `[N, H, W, C]` with PyTorch's kernel/stride/padding arguments. */
abstract class Pool2d extends Module {
  constructor(
    readonly kernelSize: number | [number, number],
    readonly stride: number | [number, number] = kernelSize,
    readonly padding: Padding = 0,
  ) {
    super();
  }

  protected abstract pool(x: Tensor4D, k: [number, number], s: [number, number], pad: 'same' | 'valid' | number): Tensor4D;

  forward(x: Tensor4D): Tensor4D {
    return this.pool(x, pair(this.kernelSize), pair(this.stride), poolPad(this.padding));
  }
}

/** torch.nn.MaxPool2d on NHWC (padding counts as -inf, as in PyTorch). */
export class MaxPool2d extends Pool2d {
  protected pool(x: Tensor4D, k: [number, number], s: [number, number], pad: 'same' | 'valid' | number): Tensor4D {
    return tf.maxPool(x, k, s, pad);
  }
}

/** torch.nn.AvgPool2d on NHWC (ceil_mode=False; count_include_pad is only exact for padding 0). */
export class AvgPool2d extends Pool2d {
  protected pool(x: Tensor4D, k: [number, number], s: [number, number], pad: 'same' | 'valid' | number): Tensor4D {
    return tf.avgPool(x, k, s, pad);
  }
}

/** torch.nn.AdaptiveAvgPool2d((1, 1)): NHWC `[N, H, W, C]` -> `[N, 1, 1, C]`. */
export class AdaptiveAvgPool2d extends Module {
  forward(x: Tensor4D): Tensor4D {
    return tf.mean(x, [1, 2], true) as Tensor4D;
  }
}

function poolPad(p: Padding): 'same' | 'valid' | number {
  const t = tfPadding(p);
  if (typeof t === 'string') return t;
  const [ph, pw] = pair(p as number);
  if (ph !== pw) throw new Error('pooling supports square padding only');
  return ph;
}
