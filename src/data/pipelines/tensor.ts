import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { requireFloat, requireUint8, toFloat } from '../image.js';
import type { Image, Random, SampleExtras, Transform } from '../types.js';
import { secondPicToTensor } from './two-pic.js';
import { wasmKernels, type WasmKernels } from './wasm/kernels.js';

/** torchvision ToTensor: uint8 HWC -> float32 HWC in [0, 1] (ssl keeps channels last). */
export class ToTensor implements Transform {
  readonly type = 'ToTensor';
  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, []);
  }
  apply(img: Image, _rng?: Random, extras?: SampleExtras): Image {
    requireUint8(img, this.type);
    secondPicToTensor(extras);
    return toFloat(img, 255);
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
    const s = Float32Array.from({ length: C }, (_, c) => this.std[this.std.length === 1 ? 0 : c]);
    // torch's sub_ then div_ in float32 (the Float32Array stores round each step).
    const out = new Float32Array(src.length);
    const fround = Math.fround;
    for (let i = 0; i < src.length; i += C) for (let c = 0; c < C; c++) out[i + c] = fround(src[i + c] - m[c]) / s[c];
    return { ...img, data: out };
  }
}

/**
 * ToTensor then Normalize in one pass: (v / 255 - mean) / std in float32, through a 256-entry table
 * per channel. With `flip` (a RandomHorizontalFlip right before ToTensor), the flip is drawn as that
 * transform draws it and done while writing (one pass instead of two).
 */
export class ToTensorNormalize implements Transform {
  readonly type = 'ToTensor+Normalize';
  private luts?: Float32Array[];
  constructor(private readonly norm: Normalize, private readonly flip?: { getParams(rng: Random): boolean }) {}

  /** Per channel, Math.fround((fround(v / 255) - m) / s) for v = 0..255, as torch computes in float32. */
  private lutsFor(C: number): Float32Array[] {
    const { mean, std } = this.norm;
    if (mean.length !== C && mean.length !== 1) throw new ConfigError(`Normalize: mean has ${mean.length} values for a ${C}-channel image`);
    if (this.luts?.length !== C) {
      this.luts = Array.from({ length: C }, (_, c) => {
        const m = Math.fround(mean[mean.length === 1 ? 0 : c]);
        const s = Math.fround(std[std.length === 1 ? 0 : c]);
        return Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v / 255) - m) / s));
      });
    }
    return this.luts;
  }

  apply(img: Image, rng: Random, extras?: SampleExtras): Image {
    secondPicToTensor(extras);
    const mirror = this.flip ? this.flip.getParams(rng) : false;
    const src = requireUint8(img, 'ToTensor');
    const { width: W, height: H, channels: C } = img;
    const luts = this.lutsFor(C);
    const k = 12 % C === 0 ? wasmKernels() : null;
    if (k) return { ...img, data: wasmToTensorNormalize(k, src, W, H, C, mirror, this.norm.mean, this.norm.std) };
    const out = new Float32Array(src.length);
    if (C === 3) {
      const [l0, l1, l2] = luts;
      const row = W * 3;
      for (let y = 0; y < H; y++) {
        const base = y * row;
        // Source pixel x goes to x, or to W - 1 - x when mirrored.
        let o = mirror ? base + row - 3 : base;
        const step = mirror ? -3 : 3;
        for (let i = base; i < base + row; i += 3, o += step) {
          out[o] = l0[src[i]];
          out[o + 1] = l1[src[i + 1]];
          out[o + 2] = l2[src[i + 2]];
        }
      }
    } else {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const s = (y * W + x) * C;
          const d = (y * W + (mirror ? W - 1 - x : x)) * C;
          for (let c = 0; c < C; c++) out[d + c] = luts[c][src[s + c]];
        }
      }
    }
    return { ...img, data: out };
  }
}

/** The same in WebAssembly SIMD: float32 division and subtraction per lane, as torch computes. */
function wasmToTensorNormalize(k: WasmKernels, src: Uint8Array, W: number, H: number, C: number, mirror: boolean, mean: number[], std: number[]): Float32Array {
  const n = src.length;
  const consts = k.scratch;
  const input = consts + 96;
  const flipped = input + ((n + 31) & ~15);
  const out = flipped + ((n + 31) & ~15);
  const m = k.bytes(out + 4 * n + 64 - consts);
  const c = new Float32Array(m.buffer, consts, 24);
  // Lane j of vector g (g = 0..2) holds element 4g + j of each run of 12, channel (4g + j) % C.
  for (let e = 0; e < 12; e++) {
    c[e] = mean[mean.length === 1 ? 0 : e % C];
    c[12 + e] = std[std.length === 1 ? 0 : e % C];
  }
  m.set(src, input);
  if (mirror) k.flipRows(input, flipped, W, H, C);
  k.toTensorNormalize(mirror ? flipped : input, n, out, consts);
  return new Float32Array(m.buffer.slice(out, out + 4 * n));
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
