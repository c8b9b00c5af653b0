import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';
import { defineComponent, REQUIRED } from '../../registry/index.js';

/**
 * MMSelfSup 0.x SimMIMHead: L1 between the image and its reconstruction on the masked pixels
 * (the patch-level mask repeated patch_size times along each axis), summed and divided by the
 * masked pixel count (+1e-5) and by encoder_in_channels.
 */
export class SimMIMHead extends Module {
  constructor(
    readonly patchSize: number,
    readonly encoderInChannels: number,
  ) {
    super();
  }

  /** img and rec NHWC `[N, H, W, C]`, mask `[N, H/p, W/p]` (1 = masked) -> `{loss}`. */
  forward(img: Tensor4D, rec: Tensor4D, mask: Tensor): Record<string, Tensor> {
    const [n, h, w] = img.shape;
    const p = this.patchSize;
    if (rec.shape[1] !== h || rec.shape[2] !== w) throw new ConfigError(`SimMIMHead: the reconstruction is ${rec.shape[1]}×${rec.shape[2]} for ${h}×${w} images; model.neck.encoder_stride must be the backbone's total stride`);
    const mh = h / p;
    const mw = w / p;
    if (mask.size !== n * mh * mw) throw new ConfigError(`SimMIMHead: a ${h}×${w} image with patch_size ${p} needs a ${mh}×${mw} mask, got ${mask.size / n} entries`);
    const m = tf.tile(tf.reshape(tf.cast(mask, 'float32'), [n, mh, 1, mw, 1, 1]), [1, 1, p, 1, p, 1]);
    const full = tf.reshape(m, [n, h, w, 1]);
    const l1 = tf.abs(tf.sub(img, rec));
    const loss = tf.div(tf.div(tf.sum(tf.mul(l1, full)), tf.add(tf.sum(full), 1e-5)), this.encoderInChannels);
    return { loss };
  }
}

export const simMIMHeadEntry = defineComponent({
  type: 'SimMIMHead',
  args: { patch_size: REQUIRED as unknown as number, encoder_in_channels: REQUIRED as unknown as number, init_cfg: undefined as unknown },
  build: (a) => {
    for (const k of ['patch_size', 'encoder_in_channels'] as const) {
      if (!Number.isInteger(a[k]) || a[k] < 1) throw new ConfigError(`SimMIMHead: ${k} must be a positive integer, got ${JSON.stringify(a[k])}`);
    }
    return new SimMIMHead(a.patch_size, a.encoder_in_channels);
  },
});
