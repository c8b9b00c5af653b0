import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';

/** MAE's `patchify` for NHWC images: `[N, h·p, w·p, C]` -> `[N, h·w, p·p·C]` (MMSelfSup's nhwpqc order). */
export function patchify(imgs: Tensor4D, p: number): Tensor3D {
  const [n, hh, ww, c] = imgs.shape;
  const h = hh / p;
  const w = ww / p;
  return tf.reshape(tf.transpose(tf.reshape(imgs, [n, h, p, w, p, c]), [0, 1, 3, 2, 4, 5]), [n, h * w, p * p * c]) as Tensor3D;
}

/** The inverse of `patchify`: `[N, h·w, p·p·C]` -> NHWC `[N, h·p, w·p, C]` (square images). */
export function unpatchify(x: Tensor3D, p: number, c = 3): Tensor4D {
  const [n, l] = x.shape;
  const h = Math.round(Math.sqrt(l));
  return tf.reshape(tf.transpose(tf.reshape(x, [n, h, h, p, p, c]), [0, 1, 3, 2, 4, 5]), [n, h * p, h * p, c]) as Tensor4D;
}

/**
 * MMSelfSup's MAEPretrainHead: mean squared error between the predicted and the true pixels of
 * each patch, averaged over the masked patches only; `norm_pix` normalises each target patch by its
 * mean and unbiased variance (+1e-6), as MAE does.
 */
export class MAEPretrainHead extends Module {
  constructor(
    readonly normPix: boolean,
    readonly patchSize: number,
  ) {
    super();
  }

  /** imgs NHWC, pred `[N, L, p²·C]`, mask `[N, L]` (1 = masked) -> `{loss}`. */
  forward(imgs: Tensor4D, pred: Tensor3D, mask: Tensor): Record<string, Tensor> {
    let target: Tensor = patchify(imgs, this.patchSize);
    if (this.normPix) {
      const k = target.shape[2] as number;
      const { mean, variance } = tf.moments(target, -1, true);
      const unbiased = tf.mul(variance, k / (k - 1));
      target = tf.div(tf.sub(target, mean), tf.sqrt(tf.add(unbiased, 1e-6)));
    }
    const perPatch = tf.mean(tf.squaredDifference(pred, target), -1);
    return { loss: tf.div(tf.sum(tf.mul(perPatch, mask)), tf.sum(mask)) };
  }
}

export const maePretrainHeadEntry = defineComponent({
  type: 'MAEPretrainHead',
  args: { norm_pix: false, patch_size: 16, init_cfg: undefined as unknown },
  build: (a) => {
    if (!Number.isInteger(a.patch_size) || a.patch_size < 1) throw new ConfigError(`MAEPretrainHead: patch_size must be a positive integer, got ${JSON.stringify(a.patch_size)}`);
    return new MAEPretrainHead(Boolean(a.norm_pix), a.patch_size);
  },
});
