import { Module } from '../module.js';
import { nextSeed } from '../random.js';
import { tf, type Tensor } from '../tf.js';

/** torch.nn.Dropout: zeroes elements with probability p in training, scales the rest by 1/(1-p). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return tf.dropout(x, this.p, undefined, nextSeed());
  }
}

/**
 * Stochastic depth (timm/mmcv DropPath): drops the whole residual branch per sample with
 * probability p in training, scaling kept samples by 1/(1-p). x `[N, ...]`.
 */
export class DropPath extends Module {
  constructor(readonly p = 0) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = 1 - this.p;
    return tf.tidy(() => {
      const shape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
      const mask = tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', nextSeed()), keep));
      return tf.mul(tf.div(x, keep), mask);
    });
  }
}
