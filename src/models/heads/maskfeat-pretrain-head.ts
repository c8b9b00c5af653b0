import { ConfigError } from '../../errors.js';
import { assignInit, constant, truncNormal } from '../../engine/init.js';
import { Linear } from '../../engine/layers/linear.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Tensor3D } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';

/**
 * MMSelfSup 0.x MaskFeatPretrainHead: `head` (Linear embed_dim -> hog_dim, weight ~ trunc-normal(0.02),
 * bias 0) on every patch token, then the mean squared error to the HOG target averaged over the
 * feature dimension and over the masked patches only (`pred[mask]`).
 */
export class MaskFeatPretrainHead extends Module {
  readonly head: Linear;

  constructor(
    readonly embedDim: number,
    readonly hogDim: number,
  ) {
    super();
    this.head = this.registerModule('head', new Linear(embedDim, hogDim));
    assignInit(this.head.weight, truncNormal(this.head.weight.shape, 0, 0.02));
    assignInit(this.head.bias!, constant([hogDim], 0));
  }

  /** latent `[N, 1 + L, D]` (cls first), hog `[N, L, hog_dim]`, mask `[N, h, w]` or `[N, L]` (1 = masked) -> `{loss}`. */
  forward(latent: Tensor3D, hog: Tensor3D, mask: Tensor): Record<string, Tensor> {
    const [n, l1] = latent.shape;
    if (hog.shape[2] !== this.hogDim) throw new ConfigError(`MaskFeatPretrainHead: hog_dim ${this.hogDim} differs from the HOG features' ${hog.shape[2]} (3 colour channels × nbins × (patch_size / pool)²)`);
    const pred = this.head.forward(tf.slice(latent, [0, 1, 0], [n, l1 - 1, -1]));
    const m = tf.reshape(tf.cast(mask, 'float32'), [n, l1 - 1]);
    const perPatch = tf.mean(tf.squaredDifference(pred, hog), -1);
    return { loss: tf.div(tf.sum(tf.mul(perPatch, m)), tf.sum(m)) };
  }
}

export const maskFeatPretrainHeadEntry = defineComponent({
  type: 'MaskFeatPretrainHead',
  args: { embed_dim: 768, hog_dim: 108 },
  build: (a) => {
    for (const k of ['embed_dim', 'hog_dim'] as const) {
      if (!Number.isInteger(a[k]) || a[k] < 1) throw new ConfigError(`MaskFeatPretrainHead: ${k} must be a positive integer, got ${JSON.stringify(a[k])}`);
    }
    return new MaskFeatPretrainHead(a.embed_dim, a.hog_dim);
  },
});
