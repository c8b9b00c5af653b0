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

/** torch.nn.AvgPool2d on NHWC (ceil_mode=False, count_include_pad=True: padded zeros count in the mean, as PyTorch's default). */
export class AvgPool2d extends Pool2d {
  protected pool(x: Tensor4D, k: [number, number], s: [number, number], pad: 'same' | 'valid' | number): Tensor4D {
    if (typeof pad !== 'number' || pad === 0) return tf.avgPool(x, k, s, pad);
    return tf.avgPool(tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), k, s, 'valid');
  }
}

/**
 * torch.nn.AdaptiveAvgPool2d(size): NHWC `[N, H, W, C]` -> `[N, size, size, C]`; output cell i averages
 * input rows floor(i·H/size) .. ceil((i+1)·H/size) - 1 (PyTorch's bins), the same for columns.
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number = 1) {
    super();
  }

  forward(x: Tensor4D): Tensor4D {
    const o = this.outputSize;
    if (o === 1) return tf.mean(x, [1, 2], true) as Tensor4D;
    const [, h, w] = x.shape;
    const bins = (n: number) => Array.from({ length: o }, (_, i) => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)] as const);
    return tf.tidy(() => {
      const rows = bins(h).map(([h0, h1]) => {
        const band = tf.slice(x, [0, h0, 0, 0], [-1, h1 - h0, -1, -1]);
        return tf.concat(bins(w).map(([w0, w1]) => tf.mean(tf.slice(band, [0, 0, w0, 0], [-1, -1, w1 - w0, -1]), [1, 2], true)), 2);
      });
      return tf.concat(rows, 1) as Tensor4D;
    });
  }
}

function poolPad(p: Padding): 'same' | 'valid' | number {
  const t = tfPadding(p);
  if (typeof t === 'string') return t;
  const [ph, pw] = pair(p as number);
  if (ph !== pw) throw new Error('pooling supports square padding only');
  return ph;
}
