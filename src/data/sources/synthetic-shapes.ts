import { checkArgs } from '../../registry/registry.js';
import { ConfigError } from '../../errors.js';
import { Rng, seedOf } from '../rng.js';
import type { DataSource, Image } from '../types.js';

const SHAPES = ['circle', 'square', 'triangle', 'ring', 'cross'] as const;

/** Arguments of `SyntheticShapes` (ssl's built-in source; no download). */
export interface SyntheticShapesArgs {
  num_samples?: number;
  /** Side length in pixels (alias `img_size`). */
  image_size?: number;
  img_size?: number;
  channels?: number;
  num_classes?: number;
  seed?: number;
}

/** HSV (all 0..1) to RGB 0..255. */
function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6) % 6;
  const f = h * 6 - Math.floor(h * 6);
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const rgb = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i];
  return [rgb[0] * 255, rgb[1] * 255, rgb[2] * 255];
}

/**
 * Procedural labelled images: a textured background (gradient, stripes, checks or noise) and one
 * foreground shape whose kind and colour family encode the class (class = idx % num_classes; kind =
 * class % 5, hue from class). Image `idx` is a pure function of (seed, idx).
 */
export class SyntheticShapes implements DataSource {
  readonly type = 'SyntheticShapes';
  readonly length: number;
  readonly size: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly seed: number;
  readonly CLASSES: string[];

  constructor(args: SyntheticShapesArgs = {}) {
    checkArgs('SyntheticShapes', args as Record<string, unknown>, ['num_samples', 'image_size', 'img_size', 'channels', 'num_classes', 'seed', 'skip_corrupt', 'data_prefix', 'ann_file']);
    // a benchmark config's file source switched to this one with --cfg-options (type=SyntheticShapes, data_prefix=None, ann_file=None)
    const fileArgs = args as Record<string, unknown>;
    for (const k of ['data_prefix', 'ann_file']) {
      if (fileArgs[k] !== undefined && fileArgs[k] !== null) throw new ConfigError(`SyntheticShapes reads no files: set ${k}=None (got ${JSON.stringify(fileArgs[k])})`);
    }
    this.length = args.num_samples ?? 1000;
    this.size = args.image_size ?? args.img_size ?? 32;
    this.channels = args.channels ?? 3;
    this.numClasses = args.num_classes ?? 10;
    this.seed = args.seed ?? 0;
    if (!(this.length > 0 && Number.isInteger(this.length))) throw new ConfigError(`SyntheticShapes: num_samples must be a positive integer, got ${this.length}`);
    if (!(this.size >= 4 && Number.isInteger(this.size))) throw new ConfigError(`SyntheticShapes: image_size must be an integer >= 4, got ${this.size}`);
    if (this.channels !== 1 && this.channels !== 3) throw new ConfigError(`SyntheticShapes: channels must be 1 or 3, got ${this.channels}`);
    if (!(this.numClasses >= 1)) throw new ConfigError(`SyntheticShapes: num_classes must be >= 1, got ${this.numClasses}`);
    this.CLASSES = Array.from({ length: this.numClasses }, (_, c) => `${SHAPES[c % SHAPES.length]}_${Math.floor(c / SHAPES.length)}`);
  }

  getLabel(idx: number): number {
    return idx % this.numClasses;
  }

  getGtLabels(): Int32Array {
    return Int32Array.from({ length: this.length }, (_, i) => this.getLabel(i));
  }

  describe(idx: number): string {
    return `SyntheticShapes[${idx}]`;
  }

  async getImage(idx: number): Promise<Image> {
    return this.render(idx);
  }

  /** The image synchronously (HWC uint8). */
  render(idx: number): Image {
    const n = this.size;
    const rng = new Rng(seedOf(this.seed, idx, 0x5eed));
    const label = this.getLabel(idx);
    const rgb = new Uint8Array(n * n * 3);
    // Background texture.
    const bgKind = rng.int(4);
    const c1 = hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.6));
    const c2 = hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.6));
    const angle = rng.uniform(0, Math.PI);
    const freq = rng.uniform(2, 6) / n;
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const cell = Math.max(2, Math.round(n / rng.uniform(3, 8)));
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        let t: number;
        if (bgKind === 0) t = (x * ca + y * sa) / (n * 1.5) + 0.25;
        else if (bgKind === 1) t = 0.5 + 0.5 * Math.sin(2 * Math.PI * freq * (x * ca + y * sa));
        else if (bgKind === 2) t = (Math.floor(x / cell) + Math.floor(y / cell)) % 2;
        else t = rng.random();
        t = Math.min(1, Math.max(0, t));
        const o = (y * n + x) * 3;
        for (let c = 0; c < 3; c++) rgb[o + c] = Math.round(c1[c] * (1 - t) + c2[c] * t);
      }
    }
    // Foreground shape: kind and hue family from the class.
    const kind = SHAPES[label % SHAPES.length];
    const family = Math.floor(label / SHAPES.length);
    const families = Math.max(1, Math.ceil(this.numClasses / SHAPES.length));
    const hue = (family / families + rng.uniform(-0.04, 0.04) + 1) % 1;
    const fg = hsv(hue, rng.uniform(0.7, 1), rng.uniform(0.8, 1));
    const r = n * rng.uniform(0.18, 0.32);
    const cx = rng.uniform(r, n - r);
    const cy = rng.uniform(r, n - r);
    const rot = rng.uniform(0, Math.PI * 2);
    const cr = Math.cos(rot);
    const sr = Math.sin(rot);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const u = (dx * cr + dy * sr) / r;
        const v = (-dx * sr + dy * cr) / r;
        const d = Math.hypot(u, v);
        let inside: boolean;
        if (kind === 'circle') inside = d <= 1;
        else if (kind === 'square') inside = Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8;
        else if (kind === 'triangle') inside = v <= 0.5 && v >= -1 + 1.732 * Math.abs(u) * 0.866;
        else if (kind === 'ring') inside = d <= 1 && d >= 0.55;
        else inside = (Math.abs(u) <= 0.3 && Math.abs(v) <= 1) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 1);
        if (inside) {
          const o = (y * n + x) * 3;
          for (let c = 0; c < 3; c++) rgb[o + c] = Math.round(fg[c]);
        }
      }
    }
    if (this.channels === 3) return { data: rgb, height: n, width: n, channels: 3 };
    const grey = new Uint8Array(n * n);
    for (let p = 0; p < n * n; p++) grey[p] = (rgb[3 * p] * 19595 + rgb[3 * p + 1] * 38470 + rgb[3 * p + 2] * 7471 + 0x8000) >>> 16;
    return { data: grey, height: n, width: n, channels: 1 };
  }
}
