import sharp from 'sharp';
import { ConfigError, SslError } from '../errors.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../engine/tf.js';
import { loadEvalModel } from '../eval/eval-model.js';
import { MAE } from '../models/algorithms/mae.js';
import { patchify, unpatchify } from '../models/heads/mae-pretrain-head.js';
import { writeFileAtomically } from './write-png.js';

export interface MaeVizOptions {
  checkpoint?: string;
  image: string;
  out: string;
  backend?: string;
  seed?: number;
  log?: (line: string) => void;
}

/** The mean/std the config normalises with (its img_norm_cfg), else ImageNet's as mae_visualization.py uses. */
function normOf(cfg: Record<string, unknown>): { mean: number[]; std: number[] } {
  const n = cfg.img_norm_cfg as { mean?: number[]; std?: number[] } | undefined;
  return { mean: n?.mean ?? [0.485, 0.456, 0.406], std: n?.std ?? [0.229, 0.224, 0.225] };
}

/**
 * MMSelfSup's tools/misc/mae_visualization.py: the image resized to the encoder's size, one random
 * mask (seeded), and four panels side by side — original, masked, reconstruction, reconstruction
 * with the visible patches pasted — de-normalised to pixels. A norm_pix model's predictions are
 * per-patch normalised; they are mapped back with each patch's own mean and std first.
 */
export async function visualizeMae(cfg: Record<string, unknown>, o: MaeVizOptions): Promise<{ path: string; size: number; maskedPatches: number }> {
  const model = await loadEvalModel(cfg, { checkpoint: o.checkpoint, backend: o.backend, seed: o.seed, log: o.log });
  try {
    if (!(model instanceof MAE)) throw new ConfigError(`ssl viz mae needs an MAE model; the config's model.type is ${String((cfg.model as Record<string, unknown>)?.type)}`);
    const p = model.backbone.patchSize;
    const size = model.backbone.patchResolution[0] * p;
    let raw: Buffer;
    try {
      raw = await sharp(o.image).removeAlpha().toColourspace('srgb').resize(size, size, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
    } catch (e) {
      throw new SslError(`--image ${o.image} could not be read as an image (${(e as Error).message.split('\n')[0]})`, { code: 'BAD_IMAGE' });
    }
    const { mean, std } = normOf(cfg);
    const panels = tf.tidy(() => {
      const px = tf.div(tf.tensor4d(Float32Array.from(raw), [1, size, size, 3]), 255);
      const x = tf.div(tf.sub(px, mean), std) as Tensor4D;
      const { latent, mask, idsRestore } = model.backbone.forwardMasked(x);
      let pred: Tensor3D = model.neck.forward(latent, idsRestore);
      if (model.head.normPix) {
        const target = patchify(x, p);
        const k = target.shape[2];
        const { mean: m, variance } = tf.moments(target, -1, true);
        pred = tf.add(tf.mul(pred, tf.sqrt(tf.add(tf.mul(variance, k / (k - 1)), 1e-6))), m) as Tensor3D;
      }
      const y = unpatchify(pred, p);
      const m4 = unpatchify(tf.tile(tf.expandDims(mask, -1), [1, 1, p * p * 3]) as Tensor3D, p);
      const masked = tf.mul(x, tf.sub(1, m4));
      const pasted = tf.add(masked, tf.mul(y, m4));
      const toPixels = (t: Tensor) => tf.clipByValue(tf.round(tf.mul(tf.add(tf.mul(t, std), mean), 255)), 0, 255);
      return { strip: tf.cast(tf.concat([x, masked, y, pasted].map(toPixels), 2), 'int32'), count: tf.sum(mask) };
    });
    const pixels = Uint8Array.from(await panels.strip.data());
    const maskedPatches = (await panels.count.data())[0];
    panels.strip.dispose();
    panels.count.dispose();
    const png = await sharp(Buffer.from(pixels), { raw: { width: 4 * size, height: size, channels: 3 } }).png().toBuffer();
    writeFileAtomically(o.out, png);
    return { path: o.out, size, maskedPatches };
  } finally {
    model.dispose();
  }
}
