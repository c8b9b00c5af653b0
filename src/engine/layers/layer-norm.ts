import { Module } from '../module.js';
import { nativeKernelsTake } from '../native/kernels.js';
import { nativeLayerNorm } from '../ops/layer-norm-train.js';
import { tf, type Tensor, type Variable } from '../tf.js';

/** torch.nn.LayerNorm over the last axis (`weight`, `bias` of size `[C]`). */
export class LayerNorm extends Module {
  readonly weight: Variable | null;
  readonly bias: Variable | null;

  constructor(
    readonly normalizedShape: number,
    readonly eps = 1e-5,
    elementwiseAffine = true,
  ) {
    super();
    this.weight = elementwiseAffine ? this.registerParameter('weight', tf.ones([normalizedShape])) : null;
    this.bias = elementwiseAffine ? this.registerParameter('bias', tf.zeros([normalizedShape])) : null;
  }

  /** x `[..., C]` -> `[..., C]`. */
  forward(x: Tensor): Tensor {
    if (this.weight && this.bias && nativeKernelsTake(x)) return nativeLayerNorm(x, this.weight, this.bias, this.eps);
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}
