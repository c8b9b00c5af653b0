import { ConfigError } from '../../errors.js';
import { normalArray, uniform01 } from '../../engine/random.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';

/** Images with (soft) labels: NHWC `[N, H, W, C]`, labels `[N]` int32 or `[N, num_classes]` float. */
export interface Mixed {
  img: Tensor4D;
  label: Tensor;
}

/** Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 boosted by U^(1/shape)), from the engine generator. */
function gamma(shape: number): number {
  if (shape < 1) return gamma(shape + 1) * Math.pow(uniform01(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normalArray(1, 0, 1)[0];
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = uniform01();
    if (Math.log(u) < 0.5 * x * x + d - d * v + Math.log(v)) return d * v;
  }
}

/** np.random.beta(a, b). */
export function sampleBeta(a: number, b: number): number {
  const x = gamma(a);
  return x / (x + gamma(b));
}

/** torch.randperm(n) from the engine generator (Fisher-Yates). */
function randperm(n: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform01() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** mmcls one_hot_encoding: int labels `[N]` -> `[N, C]`; soft labels pass through. */
function oneHot(label: Tensor, numClasses: number): Tensor {
  return label.rank === 1 ? tf.cast(tf.oneHot(tf.cast(label, 'int32'), numClasses), 'float32') : label;
}

export interface BatchAugment {
  readonly prob: number;
  readonly numClasses: number;
  apply(img: Tensor4D, label: Tensor): Mixed;
}

/** mmcls BatchMixupLayer: λ ~ Beta(α, α); img = λ·img + (1 − λ)·img[perm], labels likewise (one-hot). */
export class BatchMixup implements BatchAugment {
  constructor(readonly alpha: number, readonly numClasses: number, readonly prob: number) {}

  apply(img: Tensor4D, label: Tensor): Mixed {
    const lam = sampleBeta(this.alpha, this.alpha);
    const perm = tf.tensor1d(randperm(img.shape[0]), 'int32');
    const y = oneHot(label, this.numClasses);
    return {
      img: tf.add(tf.mul(img, lam), tf.mul(tf.gather(img, perm), 1 - lam)) as Tensor4D,
      label: tf.add(tf.mul(y, lam), tf.mul(tf.gather(y, perm), 1 - lam)),
    };
  }
}

/** mmcls BatchCutMixLayer (cutmix_minmax None, correct_lam True): a box of area ≈ (1 − λ) pasted from img[perm]. */
export class BatchCutMix implements BatchAugment {
  constructor(readonly alpha: number, readonly numClasses: number, readonly prob: number) {}

  apply(img: Tensor4D, label: Tensor): Mixed {
    let lam = sampleBeta(this.alpha, this.alpha);
    const [n, h, w] = img.shape;
    const perm = tf.tensor1d(randperm(n), 'int32');
    const ratio = Math.sqrt(1 - lam);
    const [cutH, cutW] = [Math.trunc(h * ratio), Math.trunc(w * ratio)];
    const cy = Math.floor(uniform01() * h);
    const cx = Math.floor(uniform01() * w);
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    const [y0, y1] = [clip(cy - Math.floor(cutH / 2), h), clip(cy + Math.floor(cutH / 2), h)];
    const [x0, x1] = [clip(cx - Math.floor(cutW / 2), w), clip(cx + Math.floor(cutW / 2), w)];
    lam = 1 - ((y1 - y0) * (x1 - x0)) / (h * w);
    const box = new Float32Array(h * w);
    for (let i = y0; i < y1; i++) box.fill(1, i * w + x0, i * w + x1);
    const m = tf.tensor4d(box, [1, h, w, 1]);
    const y = oneHot(label, this.numClasses);
    return {
      img: tf.add(tf.mul(img, tf.sub(1, m)), tf.mul(tf.gather(img, perm), m)) as Tensor4D,
      label: tf.add(tf.mul(y, lam), tf.mul(tf.gather(y, perm), 1 - lam)),
    };
  }
}

/**
 * mmcls `Augments` (Classification's `train_cfg.augments`): one augment per batch, drawn with the
 * augments' `prob`s; when they sum to less than 1 the rest is "no augment" (labels still one-hot).
 */
export class Augments {
  readonly augments: BatchAugment[];
  readonly numClasses: number;

  constructor(cfgs: unknown) {
    const list = Array.isArray(cfgs) ? cfgs : [cfgs];
    this.augments = list.map((c: Record<string, unknown>) => {
      const { type, alpha, num_classes: k, prob = 1, ...rest } = c ?? {};
      if (Object.keys(rest).length > 0) throw new ConfigError(`train_cfg.augments ${String(type)}: unknown argument ${Object.keys(rest)[0]}`);
      if (typeof alpha !== 'number' || typeof k !== 'number') throw new ConfigError(`train_cfg.augments ${String(type)} needs numeric alpha and num_classes`);
      if (type === 'BatchMixup') return new BatchMixup(alpha, k, prob as number);
      if (type === 'BatchCutMix') return new BatchCutMix(alpha, k, prob as number);
      throw new ConfigError(`train_cfg.augments: unknown type "${String(type)}"; use BatchMixup or BatchCutMix`);
    });
    const total = this.augments.reduce((s, a) => s + a.prob, 0);
    if (total > 1 + 1e-9) throw new ConfigError(`train_cfg.augments: the probs sum to ${total}, more than 1`);
    if (new Set(this.augments.map((a) => a.numClasses)).size > 1) throw new ConfigError('train_cfg.augments: every augment needs the same num_classes');
    this.numClasses = this.augments[0]?.numClasses ?? 0;
  }

  apply(img: Tensor4D, label: Tensor): Mixed {
    let u = uniform01();
    for (const a of this.augments) {
      if (u < a.prob) return a.apply(img, label);
      u -= a.prob;
    }
    return { img, label: oneHot(label, this.numClasses) };
  }
}
