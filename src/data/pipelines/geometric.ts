import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { requireUint8 } from '../image.js';
import type { Image, Random, Transform } from '../types.js';
import { pairOf, probOf, pyRound } from './args.js';
import { cropUint8, parseInterpolation, resizedCropUint8, resizeUint8, type Interpolation } from './resample.js';

/** Crop box (torchvision order): top, left, height, width. */
export interface CropParams {
  i: number;
  j: number;
  h: number;
  w: number;
}

/** torchvision RandomResizedCrop(size, scale, ratio, interpolation): get_params + resized_crop. */
export class RandomResizedCrop implements Transform {
  readonly type = 'RandomResizedCrop';
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly interpolation: Interpolation;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['size', 'scale', 'ratio', 'interpolation', 'antialias']);
    this.size = pairOf(this.type, 'size', args.size);
    this.scale = pairOf(this.type, 'scale', args.scale ?? [0.08, 1.0]);
    this.ratio = pairOf(this.type, 'ratio', args.ratio ?? [3 / 4, 4 / 3]);
    this.interpolation = parseInterpolation(args.interpolation, this.type);
  }

  getParams(img: Image, rng: Random): CropParams {
    const { width, height } = img;
    const area = height * width;
    const logR = [Math.log(this.ratio[0]), Math.log(this.ratio[1])];
    for (let t = 0; t < 10; t++) {
      const target = area * rng.uniform(this.scale[0], this.scale[1]);
      const aspect = Math.exp(rng.uniform(logR[0], logR[1]));
      const w = pyRound(Math.sqrt(target * aspect));
      const h = pyRound(Math.sqrt(target / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        return { i: rng.int(height - h + 1), j: rng.int(width - w + 1), h, w };
      }
    }
    const inRatio = width / height;
    let w: number;
    let h: number;
    const lo = Math.min(...this.ratio);
    const hi = Math.max(...this.ratio);
    if (inRatio < lo) {
      w = width;
      h = pyRound(w / lo);
    } else if (inRatio > hi) {
      h = height;
      w = pyRound(h * hi);
    } else {
      w = width;
      h = height;
    }
    return { i: Math.floor((height - h) / 2), j: Math.floor((width - w) / 2), h, w };
  }

  applyParams(img: Image, p: CropParams): Image {
    requireUint8(img, this.type);
    return resizedCropUint8(img, p.i, p.j, p.h, p.w, this.size[1], this.size[0], this.interpolation);
  }

  apply(img: Image, rng: Random): Image {
    return this.applyParams(img, this.getParams(img, rng));
  }
}

/** torchvision Resize(size, interpolation, max_size): an int matches the shorter edge. */
export class Resize implements Transform {
  readonly type = 'Resize';
  readonly size: number | [number, number];
  readonly interpolation: Interpolation;
  readonly maxSize?: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['size', 'interpolation', 'max_size', 'antialias']);
    const s = args.size;
    this.size = typeof s === 'number' ? s : Array.isArray(s) && s.length === 1 ? (s[0] as number) : pairOf(this.type, 'size', s);
    this.interpolation = parseInterpolation(args.interpolation, this.type);
    this.maxSize = args.max_size as number | undefined;
  }

  outputSize(img: Image): [number, number] {
    if (Array.isArray(this.size)) return this.size;
    const { height: h, width: w } = img;
    const [short, long] = w <= h ? [w, h] : [h, w];
    let newShort = this.size;
    let newLong = Math.trunc((this.size * long) / short);
    if (this.maxSize !== undefined && newLong > this.maxSize) {
      newShort = Math.trunc((this.maxSize * newShort) / newLong);
      newLong = this.maxSize;
    }
    return w <= h ? [newLong, newShort] : [newShort, newLong];
  }

  apply(img: Image): Image {
    requireUint8(img, this.type);
    if (typeof this.size === 'number') {
      const short = Math.min(img.width, img.height);
      if (short === this.size && this.maxSize === undefined) return img;
    }
    const [h, w] = this.outputSize(img);
    return resizeUint8(img, w, h, this.interpolation);
  }
}

/** torchvision CenterCrop(size): zero-pads when the image is smaller. */
export class CenterCrop implements Transform {
  readonly type = 'CenterCrop';
  readonly size: [number, number];

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['size']);
    this.size = pairOf(this.type, 'size', args.size);
  }

  apply(img: Image): Image {
    requireUint8(img, this.type);
    const [ch, cw] = this.size;
    let src = img;
    if (cw > img.width || ch > img.height) {
      const padL = cw > img.width ? Math.floor((cw - img.width) / 2) : 0;
      const padT = ch > img.height ? Math.floor((ch - img.height) / 2) : 0;
      const padR = cw > img.width ? Math.floor((cw - img.width + 1) / 2) : 0;
      const padB = ch > img.height ? Math.floor((ch - img.height + 1) / 2) : 0;
      src = cropUint8(img, -padT, -padL, img.height + padT + padB, img.width + padL + padR);
      if (src.width === cw && src.height === ch) return src;
    }
    const top = pyRound((src.height - ch) / 2);
    const left = pyRound((src.width - cw) / 2);
    return cropUint8(src, top, left, ch, cw);
  }
}

/**
 * torchvision RandomCrop(size, padding, pad_if_needed, fill, padding_mode='constant'): pads
 * (left, top, right, bottom) with `fill`, then crops a random `size` box.
 */
export class RandomCrop implements Transform {
  readonly type = 'RandomCrop';
  readonly size: [number, number];
  readonly padding: [number, number, number, number];
  readonly padIfNeeded: boolean;
  readonly fill: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['size', 'padding', 'pad_if_needed', 'fill', 'padding_mode']);
    this.size = pairOf(this.type, 'size', args.size);
    const p = args.padding ?? 0;
    if (typeof p === 'number') this.padding = [p, p, p, p];
    else if (Array.isArray(p) && p.length === 2) this.padding = [p[0], p[1], p[0], p[1]];
    else if (Array.isArray(p) && p.length === 4) this.padding = p as [number, number, number, number];
    else throw new ConfigError(`RandomCrop: padding must be a number or a list of 2 or 4 numbers, got ${JSON.stringify(p)}`);
    if ((args.padding_mode ?? 'constant') !== 'constant') throw new ConfigError(`RandomCrop: only padding_mode 'constant' is supported, got ${JSON.stringify(args.padding_mode)}`);
    this.padIfNeeded = Boolean(args.pad_if_needed);
    this.fill = typeof args.fill === 'number' ? args.fill : 0;
  }

  /** The padded image (torchvision F.pad, constant fill). */
  pad(img: Image): Image {
    let [l, t, r, b] = this.padding;
    const [h, w] = this.size;
    if (this.padIfNeeded && img.width + l + r < w) {
      const d = w - (img.width + l + r);
      l += d;
      r += d;
    }
    if (this.padIfNeeded && img.height + t + b < h) {
      const d = h - (img.height + t + b);
      t += d;
      b += d;
    }
    if (l === 0 && t === 0 && r === 0 && b === 0) return img;
    const out = cropUint8(img, -t, -l, img.height + t + b, img.width + l + r);
    if (this.fill !== 0) {
      const C = img.channels;
      const d = out.data as Uint8Array;
      for (let y = 0; y < out.height; y++) {
        for (let x = 0; x < out.width; x++) {
          if (y >= t && y < t + img.height && x >= l && x < l + img.width) continue;
          for (let c = 0; c < C; c++) d[(y * out.width + x) * C + c] = this.fill;
        }
      }
    }
    return out;
  }

  getParams(padded: Image, rng: Random): CropParams {
    const [h, w] = this.size;
    if (padded.height === h && padded.width === w) return { i: 0, j: 0, h, w };
    return randomCropParams(padded, h, w, rng);
  }

  applyParams(padded: Image, p: CropParams): Image {
    return cropUint8(padded, p.i, p.j, p.h, p.w);
  }

  apply(img: Image, rng: Random): Image {
    requireUint8(img, this.type);
    const padded = this.pad(img);
    return this.applyParams(padded, this.getParams(padded, rng));
  }
}

/** torchvision RandomCrop.get_params: a uniformly placed h x w box (random.randint-style bounds). */
export function randomCropParams(img: Image, h: number, w: number, rng: Random): CropParams {
  if (img.height < h || img.width < w) throw new ConfigError(`RandomCrop: crop ${h}x${w} is larger than the image ${img.height}x${img.width}; set padding or pad_if_needed`);
  return { i: rng.int(img.height - h + 1), j: rng.int(img.width - w + 1), h, w };
}

/** Mirrors an HWC image left-right (works on uint8 and float). */
export function hflip(img: Image): Image {
  const { width: W, height: H, channels: C } = img;
  const src = img.data;
  const out = src instanceof Uint8Array ? new Uint8Array(src.length) : new Float32Array(src.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * C;
    for (let x = 0; x < W; x++) {
      const s = row + x * C;
      const d = row + (W - 1 - x) * C;
      for (let c = 0; c < C; c++) out[d + c] = src[s + c];
    }
  }
  return { ...img, data: out };
}

/** torchvision RandomHorizontalFlip(p=0.5). */
export class RandomHorizontalFlip implements Transform {
  readonly type = 'RandomHorizontalFlip';
  readonly p: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['p']);
    this.p = probOf(this.type, args.p, 0.5);
  }

  getParams(rng: Random): boolean {
    return rng.random() < this.p;
  }

  apply(img: Image, rng: Random): Image {
    return this.getParams(rng) ? hflip(img) : img;
  }
}

/**
 * Rotation by `angle` degrees counter-clockwise about the centre, PIL `Image.rotate` (expand=False),
 * nearest or bilinear sampling, `fill` outside.
 */
export function rotate(img: Image, angle: number, interpolation: Interpolation, fill: number[] = [0]): Image {
  const { width: W, height: H, channels: C } = img;
  const src = img.data as Uint8Array;
  const rad = (-angle * Math.PI) / 180;
  const r15 = (v: number) => Math.round(v * 1e15) / 1e15;
  const a = r15(Math.cos(rad));
  const b = r15(Math.sin(rad));
  const d = -b;
  const e = a;
  const cx = W / 2;
  const cy = H / 2;
  const c0 = a * -cx + b * -cy + cx;
  const f0 = d * -cx + e * -cy + cy;
  const out = new Uint8Array(src.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const xs = a * (x + 0.5) + b * (y + 0.5) + c0;
      const ys = d * (x + 0.5) + e * (y + 0.5) + f0;
      const o = (y * W + x) * C;
      if (interpolation === 'nearest') {
        const xi = xs < 0 ? -1 : Math.trunc(xs);
        const yi = ys < 0 ? -1 : Math.trunc(ys);
        if (xi >= 0 && xi < W && yi >= 0 && yi < H) {
          const s = (yi * W + xi) * C;
          for (let c = 0; c < C; c++) out[o + c] = src[s + c];
        } else for (let c = 0; c < C; c++) out[o + c] = fill[c] ?? fill[0];
      } else {
        const xf = xs - 0.5;
        const yf = ys - 0.5;
        const x0 = Math.floor(xf);
        const y0 = Math.floor(yf);
        if (xf < -0.5 || yf < -0.5 || xf > W - 0.5 || yf > H - 0.5) {
          for (let c = 0; c < C; c++) out[o + c] = fill[c] ?? fill[0];
          continue;
        }
        const dx = xf - x0;
        const dy = yf - y0;
        const px = (xx: number, yy: number, c: number) => src[(Math.min(H - 1, Math.max(0, yy)) * W + Math.min(W - 1, Math.max(0, xx))) * C + c];
        for (let c = 0; c < C; c++) {
          const v = (px(x0, y0, c) * (1 - dx) + px(x0 + 1, y0, c) * dx) * (1 - dy) + (px(x0, y0 + 1, c) * (1 - dx) + px(x0 + 1, y0 + 1, c) * dx) * dy;
          out[o + c] = Math.round(v);
        }
      }
    }
  }
  return { ...img, data: out };
}

/** torchvision RandomRotation(degrees, interpolation=nearest, expand=False, center=None, fill=0). */
export class RandomRotation implements Transform {
  readonly type = 'RandomRotation';
  readonly degrees: [number, number];
  readonly interpolation: Interpolation;
  readonly fill: number[];

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['degrees', 'interpolation', 'resample', 'expand', 'center', 'fill']);
    const d = args.degrees;
    this.degrees = typeof d === 'number' ? [-Math.abs(d), Math.abs(d)] : pairOf(this.type, 'degrees', d);
    this.interpolation = parseInterpolation(args.interpolation ?? args.resample, this.type, 'nearest');
    if (args.expand) throw new ConfigError('RandomRotation: expand=True is not supported (views must keep their size)');
    if (args.center !== undefined && args.center !== null) throw new ConfigError('RandomRotation: center is not supported; rotation is about the image centre');
    const f = args.fill ?? 0;
    this.fill = Array.isArray(f) ? (f as number[]) : [f as number];
  }

  getParams(rng: Random): number {
    return rng.uniform(this.degrees[0], this.degrees[1]);
  }

  apply(img: Image, rng: Random): Image {
    requireUint8(img, this.type);
    return rotate(img, this.getParams(rng), this.interpolation, this.fill);
  }
}
