import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { requireUint8 } from '../image.js';
import type { Image, Random, Transform } from '../types.js';
import { probOf } from './args.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, toGrayscale } from './pil-color.js';
import { gaussianBlur } from './pil-blur.js';
import { jitterWasm } from './wasm/color.js';
import { wasmKernels } from './wasm/kernels.js';

/** Jitter factors (torchvision ColorJitter.get_params): order of the four ops and each factor (null = off). */
export interface JitterParams {
  order: number[];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

function range(name: string, v: unknown, center: number, bound: [number, number], clipFirstOnZero: boolean): [number, number] | null {
  let r: [number, number];
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') {
    if (v < 0) throw new ConfigError(`ColorJitter: ${name} must be non-negative, got ${v}`);
    r = [center - v, center + v];
    if (clipFirstOnZero) r[0] = Math.max(r[0], 0);
  } else if (Array.isArray(v) && v.length === 2) {
    r = [v[0] as number, v[1] as number];
    if (!(bound[0] <= r[0] && r[0] <= r[1] && r[1] <= bound[1])) throw new ConfigError(`ColorJitter: ${name} values must be within ${JSON.stringify(bound)}, got ${JSON.stringify(v)}`);
  } else throw new ConfigError(`ColorJitter: ${name} must be a number or a [min, max] pair, got ${JSON.stringify(v)}`);
  return r[0] === center && r[1] === center ? null : r;
}

/** torchvision ColorJitter(brightness, contrast, saturation, hue) on PIL images. */
export class ColorJitter implements Transform {
  readonly type = 'ColorJitter';
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  readonly saturation: [number, number] | null;
  readonly hue: [number, number] | null;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['brightness', 'contrast', 'saturation', 'hue']);
    this.brightness = range('brightness', args.brightness ?? 0, 1, [0, Infinity], true);
    this.contrast = range('contrast', args.contrast ?? 0, 1, [0, Infinity], true);
    this.saturation = range('saturation', args.saturation ?? 0, 1, [0, Infinity], true);
    this.hue = range('hue', args.hue ?? 0, 0, [-0.5, 0.5], false);
  }

  getParams(rng: Random): JitterParams {
    const u = (r: [number, number] | null) => (r === null ? null : rng.uniform(r[0], r[1]));
    const order = rng.permutation(4);
    return { order, brightness: u(this.brightness), contrast: u(this.contrast), saturation: u(this.saturation), hue: u(this.hue) };
  }

  applyParams(img: Image, p: JitterParams): Image {
    requireUint8(img, this.type);
    const k = img.channels === 3 ? wasmKernels() : null;
    if (k) return { ...img, data: jitterWasm(k, img, p) };
    // The first op writes a new buffer, the others work in place on it (the input stays untouched).
    let out: Uint8Array | undefined;
    for (const op of p.order) {
      const before = img;
      if (op === 0 && p.brightness !== null) img = adjustBrightness(img, p.brightness, out);
      else if (op === 1 && p.contrast !== null) img = adjustContrast(img, p.contrast, out);
      else if (op === 2 && p.saturation !== null) img = adjustSaturation(img, p.saturation, out);
      else if (op === 3 && p.hue !== null) img = adjustHue(img, p.hue, out);
      if (img !== before) out = img.data as Uint8Array;
    }
    return img;
  }

  apply(img: Image, rng: Random): Image {
    return this.applyParams(img, this.getParams(rng));
  }
}

/** torchvision RandomGrayscale(p=0.1): keeps the channel count. */
export class RandomGrayscale implements Transform {
  readonly type = 'RandomGrayscale';
  readonly p: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['p']);
    this.p = probOf(this.type, args.p, 0.1);
  }

  apply(img: Image, rng: Random): Image {
    requireUint8(img, this.type);
    return rng.random() < this.p ? toGrayscale(img) : img;
  }
}

/** MMSelfSup GaussianBlur(sigma_min, sigma_max, p=0.5): PIL GaussianBlur(radius=sigma). */
export class GaussianBlur implements Transform {
  readonly type = 'GaussianBlur';
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly p: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['sigma_min', 'sigma_max', 'p']);
    if (typeof args.sigma_min !== 'number' || typeof args.sigma_max !== 'number') throw new ConfigError('GaussianBlur: sigma_min and sigma_max are required numbers');
    this.sigmaMin = args.sigma_min;
    this.sigmaMax = args.sigma_max;
    this.p = probOf(this.type, args.p, 0.5);
  }

  /** The blur sigma, or null when the blur is skipped. */
  getParams(rng: Random): number | null {
    if (rng.random() > this.p) return null;
    return rng.uniform(this.sigmaMin, this.sigmaMax);
  }

  applyParams(img: Image, sigma: number | null): Image {
    requireUint8(img, this.type);
    return sigma === null ? img : gaussianBlur(img, sigma);
  }

  apply(img: Image, rng: Random): Image {
    return this.applyParams(img, this.getParams(rng));
  }
}

/** MMSelfSup Solarization(threshold=128, p=0.5): v < threshold ? v : 255 - v. */
export class Solarization implements Transform {
  readonly type = 'Solarization';
  readonly threshold: number;
  readonly p: number;

  constructor(args: Record<string, unknown>) {
    checkArgs(this.type, args, ['threshold', 'p']);
    this.threshold = (args.threshold as number) ?? 128;
    this.p = probOf(this.type, args.p, 0.5);
  }

  applyParams(img: Image): Image {
    const src = requireUint8(img, this.type);
    const out = new Uint8Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] < this.threshold ? src[i] : 255 - src[i];
    return { ...img, data: out };
  }

  apply(img: Image, rng: Random): Image {
    return rng.random() > this.p ? img : this.applyParams(img);
  }
}
