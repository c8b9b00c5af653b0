import { ConfigError } from '../../errors.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';

/** MMSelfSup's HOGGenerator arguments (MaskFeat's `hog_para`), plus the patch grid the features are grouped by. */
export interface HOGArgs {
  nbins?: number;
  pool?: number;
  gaussian_window?: number;
  /** Patches per side of the output (MMSelfSup hard-codes 14: a 224² ViT-B/16). */
  patchesPerSide?: number;
}

/** Gaussian window as MMSelfSup's get_gaussian_kernel: centred, std = kernlen // 2, normalised to sum 1. */
function gaussianKernel(kernlen: number, std: number): Float32Array {
  const mean = (kernlen - 1) / 2;
  const w = Array.from({ length: kernlen }, (_, i) => Math.exp(-0.5 * ((i - mean) / std) ** 2));
  const k = new Float32Array(kernlen * kernlen);
  let sum = 0;
  for (let i = 0; i < kernlen; i++) for (let j = 0; j < kernlen; j++) sum += k[i * kernlen + j] = w[i] * w[j];
  return k.map((v) => v / sum);
}

/**
 * MaskFeat's HOG target (MMSelfSup HOGGenerator): per colour channel, Sobel gradients (reflect
 * padding), magnitude weighted by a Gaussian window, binned by orientation into `nbins` over
 * [−π, π] (floor, mod nbins), summed over `pool`×`pool` cells, L2-normalised over the bins, then
 * grouped per patch: NHWC `[N, H, W, 3]` -> `[N, P, 3·nbins·u²]` (u = cells per patch side, feature
 * order channel, bin, cell row, cell column). No gradient flows through it.
 */
export class HOGGenerator {
  readonly nbins: number;
  readonly pool: number;
  readonly gaussianWindow: number;
  readonly patchesPerSide: number;
  private readonly kernel: Float32Array | null;

  constructor(args: HOGArgs = {}) {
    this.nbins = args.nbins ?? 9;
    this.pool = args.pool ?? 8;
    this.gaussianWindow = args.gaussian_window ?? 16;
    this.patchesPerSide = args.patchesPerSide ?? 14;
    this.kernel = this.gaussianWindow ? gaussianKernel(this.gaussianWindow, Math.floor(this.gaussianWindow / 2)) : null;
  }

  forward(x: Tensor4D): Tensor3D {
    const [n, h, w, c] = x.shape;
    const gw = this.gaussianWindow;
    if (gw && (h % gw !== 0 || w % gw !== 0)) throw new ConfigError(`HOGGenerator: image size ${h}×${w} must be a multiple of gaussian_window ${gw}`);
    if (h % this.pool !== 0 || w % this.pool !== 0) throw new ConfigError(`HOGGenerator: image size ${h}×${w} must be a multiple of pool ${this.pool}`);
    const cells = h / this.pool;
    const u = Math.floor(cells / this.patchesPerSide);
    if (u < 1 || cells % this.patchesPerSide !== 0 || w !== h) {
      throw new ConfigError(`HOGGenerator: ${cells} cells per side (image ${h} / pool ${this.pool}) must be a multiple of the ${this.patchesPerSide} patches per side`);
    }
    return tf.tidy(() => {
      const padded = tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect');
      // Sobel [[1, 0, -1], [2, 0, -2], [1, 0, -1]] and its transpose as differences first, so a border
      // pixel's gradient across the reflection is exactly 0 (its orientation bin hangs on the sign of 0)
      const sl = (t: Tensor, y: number, xx: number, hh: number, ww: number) => tf.slice(t, [0, y, xx, 0], [n, hh, ww, c]);
      const dx = tf.sub(sl(padded, 0, 0, h + 2, w), sl(padded, 0, 2, h + 2, w));
      const gx = tf.add(tf.add(sl(dx, 0, 0, h, w), tf.mul(sl(dx, 1, 0, h, w), 2)), sl(dx, 2, 0, h, w));
      const dy = tf.sub(sl(padded, 0, 0, h, w + 2), sl(padded, 2, 0, h, w + 2));
      const gy = tf.add(tf.add(sl(dy, 0, 0, h, w), tf.mul(sl(dy, 0, 1, h, w), 2)), sl(dy, 0, 2, h, w));
      let mag: Tensor = tf.sqrt(tf.add(tf.square(gx), tf.square(gy)));
      // ÷π then ×nbins in float32 as MMSelfSup does: a border pixel's ±π/2 must land exactly on a bin edge
      const phase = tf.mul(tf.div(tf.atan2(gx, gy), Math.PI), this.nbins);
      if (this.kernel) {
        const tiled = tf.tile(tf.tensor4d(this.kernel, [1, gw, gw, 1]), [1, h / gw, w / gw, 1]);
        mag = tf.mul(mag, tiled);
      }
      const k = this.nbins;
      // floor-mod into [0, nbins) as Python's % does for negative bins (int32 scalars: tf.mod/add with a number go float)
      const kk = tf.scalar(k, 'int32');
      const bin = tf.mod(tf.add(tf.mod(tf.cast(tf.floor(phase), 'int32'), kk), kk), kk);
      // [N, H, W, C, bins]: each pixel's magnitude in its bin
      const hist = tf.mul(tf.oneHot(bin, k), tf.expandDims(mag, -1));
      const pooled = tf.sum(tf.reshape(hist, [n, cells, this.pool, cells, this.pool, c * k]), [2, 4]);
      const perChannel = tf.reshape(pooled, [n, cells, cells, c, k]);
      const normed = tf.div(perChannel, tf.maximum(tf.sqrt(tf.sum(tf.square(perChannel), -1, true)), 1e-12));
      const p = this.patchesPerSide;
      const grouped = tf.transpose(tf.reshape(normed, [n, p, u, p, u, c * k]), [0, 1, 3, 5, 2, 4]);
      return tf.reshape(grouped, [n, p * p, c * k * u * u]) as Tensor3D;
    });
  }
}
