import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { requireUint8 } from '../image.js';
import type { Image, Random, SampleExtras, Transform } from '../types.js';
import { hflip, RandomResizedCrop, rotate } from './geometric.js';
import { adjustBrightness, adjustContrast, adjustSaturation } from './pil-color.js';
import { Normalize, ToTensor } from './tensor.js';

/** Parsed `auto_augment` policy string of timm's RandAugment (`rand-m9-n2-mstd0.5-inc1`). */
interface Policy {
  m: number;
  n: number;
  mstd: number;
}

function parsePolicy(s: string): Policy {
  const parts = s.split('-');
  if (parts[0] !== 'rand') throw new ConfigError(`RandomAug: auto_augment must be a RandAugment policy like 'rand-m9-mstd0.5-inc1', got '${s}'`);
  const p: Policy = { m: 9, n: 2, mstd: 0 };
  for (const part of parts.slice(1)) {
    const m = /^([a-z]+)([\d.]+)$/.exec(part);
    if (!m) continue;
    if (m[1] === 'm') p.m = Number(m[2]);
    else if (m[1] === 'n') p.n = Number(m[2]);
    else if (m[1] === 'mstd') p.mstd = Number(m[2]);
  }
  return p;
}

const mapPixels = (img: Image, f: (v: number) => number): Image => {
  const src = img.data as Uint8Array;
  const lut = Uint8Array.from({ length: 256 }, (_, v) => Math.max(0, Math.min(255, Math.round(f(v)))));
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return { ...img, data: out };
};

function autoContrast(img: Image): Image {
  const src = img.data as Uint8Array;
  const C = img.channels;
  const out = new Uint8Array(src.length);
  for (let c = 0; c < C; c++) {
    let lo = 255;
    let hi = 0;
    for (let i = c; i < src.length; i += C) {
      if (src[i] < lo) lo = src[i];
      if (src[i] > hi) hi = src[i];
    }
    const scale = hi > lo ? 255 / (hi - lo) : 1;
    for (let i = c; i < src.length; i += C) out[i] = hi > lo ? Math.max(0, Math.min(255, Math.round((src[i] - lo) * scale))) : src[i];
  }
  return { ...img, data: out };
}

function equalize(img: Image): Image {
  const src = img.data as Uint8Array;
  const C = img.channels;
  const out = new Uint8Array(src.length);
  for (let c = 0; c < C; c++) {
    const hist = new Int32Array(256);
    for (let i = c; i < src.length; i += C) hist[src[i]]++;
    const nz = [...hist].filter((h) => h > 0);
    const step = Math.floor((src.length / C - nz[nz.length - 1]) / 255);
    const lut = Uint8Array.from({ length: 256 }, (_, v) => v);
    if (step > 0) {
      let n = Math.floor(step / 2);
      for (let v = 0; v < 256; v++) {
        lut[v] = Math.min(255, Math.floor(n / step));
        n += hist[v];
      }
    }
    for (let i = c; i < src.length; i += C) out[i] = lut[src[i]];
  }
  return { ...img, data: out };
}

function affineNearest(img: Image, a: number, b: number, c: number, d: number, e: number, f: number, fill = 128): Image {
  const { width: W, height: H, channels: C } = img;
  const src = img.data as Uint8Array;
  const out = new Uint8Array(src.length).fill(fill);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const xs = Math.floor(a * (x + 0.5) + b * (y + 0.5) + c);
      const ys = Math.floor(d * (x + 0.5) + e * (y + 0.5) + f);
      if (xs < 0 || ys < 0 || xs >= W || ys >= H) continue;
      for (let k = 0; k < C; k++) out[(y * W + x) * C + k] = src[(ys * W + xs) * C + k];
    }
  }
  return { ...img, data: out };
}

type Op = (img: Image, level: number, rng: Random) => Image;
const sign = (rng: Random) => (rng.random() < 0.5 ? -1 : 1);

/** timm RandAugment's op set (`_RAND_INCREASING_TRANSFORMS`), levels on 0..10. */
const OPS: Record<string, Op> = {
  AutoContrast: (img) => autoContrast(img),
  Equalize: (img) => equalize(img),
  Invert: (img) => mapPixels(img, (v) => 255 - v),
  Rotate: (img, l, rng) => rotate(img, sign(rng) * (l / 10) * 30, 'bilinear', [128]),
  PosterizeIncreasing: (img, l) => {
    const bits = 4 - Math.trunc((l / 10) * 4);
    const mask = ~(2 ** (8 - bits) - 1) & 255;
    return mapPixels(img, (v) => v & mask);
  },
  SolarizeIncreasing: (img, l) => {
    const th = 256 - Math.trunc((l / 10) * 256);
    return mapPixels(img, (v) => (v < th ? v : 255 - v));
  },
  SolarizeAdd: (img, l) => mapPixels(img, (v) => (v < 128 ? Math.min(255, v + Math.trunc((l / 10) * 110)) : v)),
  ColorIncreasing: (img, l, rng) => adjustSaturation(img, 1 + sign(rng) * (l / 10) * 0.9),
  ContrastIncreasing: (img, l, rng) => adjustContrast(img, 1 + sign(rng) * (l / 10) * 0.9),
  BrightnessIncreasing: (img, l, rng) => adjustBrightness(img, 1 + sign(rng) * (l / 10) * 0.9),
  ShearX: (img, l, rng) => affineNearest(img, 1, sign(rng) * (l / 10) * 0.3, 0, 0, 1, 0),
  ShearY: (img, l, rng) => affineNearest(img, 1, 0, 0, sign(rng) * (l / 10) * 0.3, 1, 0),
  TranslateXRel: (img, l, rng) => affineNearest(img, 1, 0, sign(rng) * (l / 10) * 0.45 * img.width, 0, 1, 0),
  TranslateYRel: (img, l, rng) => affineNearest(img, 1, 0, 0, 0, 1, sign(rng) * (l / 10) * 0.45 * img.height),
};

/**
 * MMSelfSup RandomAug (timm `create_transform` for training): RandomResizedCrop(input_size) ->
 * horizontal flip -> RandAugment(`auto_augment`, e.g. 'rand-m9-mstd0.5-inc1') -> ToTensor ->
 * Normalize(mean, std) -> RandomErasing(re_prob, re_mode 'pixel', re_count). `color_jitter` is
 * ignored when `auto_augment` is set, as in timm. Ops match timm's names and level ranges;
 * PIL-level pixel exactness is not claimed for the RandAugment ops.
 */
export class RandomAug implements Transform {
  readonly type = 'RandomAug';
  private readonly crop: RandomResizedCrop;
  private readonly policy: Policy;
  private readonly toTensor = new ToTensor({});
  private readonly normalize: Normalize;
  private readonly reProb: number;
  private readonly reCount: number;
  private readonly reMode: string;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['input_size', 'color_jitter', 'auto_augment', 'interpolation', 're_prob', 're_mode', 're_count', 'mean', 'std']);
    const size = (args.input_size as number) ?? 224;
    const interp = args.interpolation === 'random' || args.interpolation === undefined ? 'bicubic' : args.interpolation;
    this.crop = new RandomResizedCrop({ size, interpolation: interp });
    this.policy = parsePolicy((args.auto_augment as string) ?? 'rand-m9-mstd0.5-inc1');
    this.normalize = new Normalize({ mean: (args.mean as number[]) ?? [0.485, 0.456, 0.406], std: (args.std as number[]) ?? [0.229, 0.224, 0.225] });
    this.reProb = (args.re_prob as number) ?? 0;
    this.reCount = (args.re_count as number) ?? 1;
    this.reMode = (args.re_mode as string) ?? 'pixel';
  }

  apply(img: Image, rng: Random, _extras: SampleExtras): Image {
    requireUint8(img, this.type);
    img = this.crop.apply(img, rng);
    if (rng.random() < 0.5) img = hflip(img);
    const names = Object.keys(OPS);
    for (let k = 0; k < this.policy.n; k++) {
      const op = names[rng.int(names.length)];
      let level = this.policy.m;
      if (this.policy.mstd > 0) level = Math.max(0, Math.min(10, level + rng.normal() * this.policy.mstd));
      if (rng.random() < 0.5) img = OPS[op](img, level, rng);
    }
    img = this.normalize.apply(this.toTensor.apply(img));
    if (rng.random() < this.reProb) img = this.erase(img, rng);
    return img;
  }

  /** timm RandomErasing (per-pixel normal noise in 'pixel' mode, zeros in 'const'). */
  private erase(img: Image, rng: Random): Image {
    const data = img.data as Float32Array;
    const { width: W, height: H, channels: C } = img;
    const area = W * H;
    for (let n = 0; n < this.reCount; n++) {
      for (let t = 0; t < 10; t++) {
        const target = area * rng.uniform(0.02, 1 / 3) / this.reCount;
        const aspect = Math.exp(rng.uniform(Math.log(0.3), Math.log(1 / 0.3)));
        const h = Math.round(Math.sqrt(target * aspect));
        const w = Math.round(Math.sqrt(target / aspect));
        if (w < W && h < H) {
          const top = rng.int(H - h + 1);
          const left = rng.int(W - w + 1);
          for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) for (let c = 0; c < C; c++) data[(y * W + x) * C + c] = this.reMode === 'const' ? 0 : rng.normal();
          break;
        }
      }
    }
    return img;
  }
}
