import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { requireFloat, requireUint8, toFloat } from '../image.js';
import type { Image, Random, Transform } from '../types.js';

/** torchvision ToTensor: uint8 HWC -> float32 HWC in [0, 1] (ssl keeps channels last). */
export class ToTensor implements Transform {
  readonly type = 'ToTensor';
  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, []);
  }
  apply(img: Image): Image {
    requireUint8(img, this.type);
    return toFloat(img);
  }
}

/** torchvision Normalize(mean, std) on the float image, per channel. */
export class Normalize implements Transform {
  readonly type = 'Normalize';
  readonly mean: number[];
  readonly std: number[];
  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['mean', 'std', 'inplace']);
    if (!Array.isArray(args.mean) || !Array.isArray(args.std)) throw new ConfigError('Normalize: mean and std must be lists');
    this.mean = args.mean as number[];
    this.std = args.std as number[];
    if (this.std.some((s) => s === 0)) throw new ConfigError('Normalize: std must not contain 0');
  }
  apply(img: Image): Image {
    const src = requireFloat(img, this.type);
    const C = img.channels;
    if (this.mean.length !== C && this.mean.length !== 1) throw new ConfigError(`Normalize: mean has ${this.mean.length} values for a ${C}-channel image`);
    const m = Float32Array.from({ length: C }, (_, c) => this.mean[this.mean.length === 1 ? 0 : c]);
    const inv = Float32Array.from({ length: C }, (_, c) => 1 / this.std[this.std.length === 1 ? 0 : c]);
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i += C) for (let c = 0; c < C; c++) out[i + c] = (src[i + c] - m[c]) * inv[c];
    return { ...img, data: out };
  }
}

/** ToTensor then Normalize in one pass: (v / 255 - mean) / std, float32. */
export class ToTensorNormalize implements Transform {
  readonly type = 'ToTensor+Normalize';
  constructor(private readonly norm: Normalize) {}
  apply(img: Image): Image {
    const src = requireUint8(img, 'ToTensor');
    const C = img.channels;
    const { mean, std } = this.norm;
    if (mean.length !== C && mean.length !== 1) throw new ConfigError(`Normalize: mean has ${mean.length} values for a ${C}-channel image`);
    // Per channel, a 256-entry table of Math.fround((fround(v / 255) - m) / s), as torch computes in float32.
    const luts = Array.from({ length: C }, (_, c) => {
      const m = Math.fround(mean[mean.length === 1 ? 0 : c]);
      const s = Math.fround(std[std.length === 1 ? 0 : c]);
      return Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v / 255) - m) / s));
    });
    const out = new Float32Array(src.length);
    if (C === 3) {
      const [l0, l1, l2] = luts;
      for (let i = 0; i < src.length; i += 3) {
        out[i] = l0[src[i]];
        out[i + 1] = l1[src[i + 1]];
        out[i + 2] = l2[src[i + 2]];
      }
    } else for (let i = 0; i < src.length; i += C) for (let c = 0; c < C; c++) out[i + c] = luts[c][src[i + c]];
    return { ...img, data: out };
  }
}

const EIGVAL = [0.2175, 0.0188, 0.0045];
const EIGVEC = [
  [-0.5675, 0.7192, 0.4009],
  [-0.5808, -0.0045, -0.814],
  [-0.5836, -0.6948, 0.4203],
];

/** MMSelfSup Lighting: AlexNet-style PCA noise on the [0,1] tensor (alphastd 0.1, ImageNet eigen basis). */
export class Lighting implements Transform {
  readonly type = 'Lighting';
  readonly alphastd = 0.1;
  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, []);
  }
  getParams(rng: Random): number[] {
    const alpha = [0, 1, 2].map(() => rng.normal() * this.alphastd);
    return EIGVEC.map((row) => row.reduce((s, v, j) => s + v * alpha[j] * EIGVAL[j], 0));
  }
  applyParams(img: Image, rgb: number[]): Image {
    const src = requireFloat(img, this.type);
    if (img.channels !== 3) throw new ConfigError('Lighting needs 3-channel images');
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i += 3) for (let c = 0; c < 3; c++) out[i + c] = src[i + c] + rgb[c];
    return { ...img, data: out };
  }
  apply(img: Image, rng: Random): Image {
    return this.applyParams(img, this.getParams(rng));
  }
}
