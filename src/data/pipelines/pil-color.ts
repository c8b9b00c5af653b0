import type { Image } from '../types.js';
import { luma } from '../image.js';

// Local bindings: hot loops then do not look `Math` up on the global object (slow in vm contexts such as jest's).
const { fround, round, trunc, floor } = Math;

/**
 * PIL colour operations as torchvision's functional_pil uses them (ImageEnhance + Image.blend,
 * RGB<->HSV from Pillow's Convert.c), bit-exact in 8 bits: C float arithmetic via Math.fround,
 * truncation where Pillow casts. test/data/vision-digests.test.ts checks each against PIL on every
 * 24-bit colour. Each op takes an optional `out` (same length as the input; may be the input
 * itself, every op reads a pixel before writing it) so a chain of ops can share one buffer.
 * ColorJitter runs the same arithmetic in WebAssembly where it can (wasm/color.ts); these are the
 * fallback, the reference the wasm hue tables are built from, and what RandAugment uses.
 */

/** Pillow's blend of two 8-bit values: a + alpha * (b - a) in single precision, truncated / clipped. */
function blendValue(x: number, y: number, al: number, inRange: boolean): number {
  const t = fround(x + fround(al * (y - x)));
  return inRange ? trunc(t) : t <= 0 ? 0 : t >= 255 ? 255 : trunc(t);
}

/** The 256-entry table of Pillow `Image.blend(constant, b, alpha)` over b. */
export function constantBlendLut(a: number, alpha: number): Uint8Array {
  const al = fround(alpha);
  const inRange = al >= 0 && al <= 1;
  const lut = new Uint8Array(256);
  for (let y = 0; y < 256; y++) lut[y] = blendValue(a, y, al, inRange);
  return lut;
}

function applyLut(src: Uint8Array, lut: Uint8Array, out: Uint8Array): Uint8Array {
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return out;
}

const outOf = (img: Image, out?: Uint8Array): Uint8Array => out ?? new Uint8Array(img.data.length);

/**
 * Pillow `Image.blend(a, b, alpha)` = a + alpha * (b - a), single precision, truncated / clipped;
 * `a` is an image or a constant.
 */
export function blend(a: Uint8Array | number, b: Uint8Array, alpha: number, out: Uint8Array = new Uint8Array(b.length)): Uint8Array {
  if (typeof a === 'number') return applyLut(b, constantBlendLut(a, alpha), out);
  const al = fround(alpha);
  const inRange = al >= 0 && al <= 1;
  for (let i = 0; i < b.length; i++) out[i] = blendValue(a[i], b[i], al, inRange);
  return out;
}

export function adjustBrightness(img: Image, factor: number, out?: Uint8Array): Image {
  return { ...img, data: applyLut(img.data as Uint8Array, constantBlendLut(0, factor), outOf(img, out)) };
}

/** Rounded mean of the image's L (grey) values, as ImageEnhance.Contrast computes it. */
export function greyMean(img: Image): number {
  const src = img.data as Uint8Array;
  const C = img.channels;
  const px = img.height * img.width;
  let sum = 0;
  if (C === 1) for (let p = 0; p < px; p++) sum += src[p];
  else for (let i = 0; i < src.length; i += C) sum += (src[i] * 19595 + src[i + 1] * 38470 + src[i + 2] * 7471 + 0x8000) >>> 16;
  return trunc(sum / px + 0.5);
}

export function adjustContrast(img: Image, factor: number, out?: Uint8Array): Image {
  return { ...img, data: applyLut(img.data as Uint8Array, constantBlendLut(greyMean(img), factor), outOf(img, out)) };
}

/** Blend of each pixel with its own grey value (PIL ImageEnhance.Color). */
export function adjustSaturation(img: Image, factor: number, out?: Uint8Array): Image {
  const src = img.data as Uint8Array;
  const dst = outOf(img, out);
  if (img.channels !== 3) return { ...img, data: blend(src, src, factor, dst) };
  const al = fround(factor);
  // step[d + 255] = float32(alpha * d) for d = value - grey.
  const step = new Float64Array(511);
  for (let d = -255; d <= 255; d++) step[d + 255] = fround(al * d);
  const inRange = al >= 0 && al <= 1;
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    const l = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    const o = 255 - l;
    const tr = fround(l + step[r + o]);
    const tg = fround(l + step[g + o]);
    const tb = fround(l + step[b + o]);
    if (inRange) {
      dst[i] = tr;
      dst[i + 1] = tg;
      dst[i + 2] = tb;
    } else {
      dst[i] = tr <= 0 ? 0 : tr >= 255 ? 255 : tr;
      dst[i + 1] = tg <= 0 ? 0 : tg >= 255 ? 255 : tg;
      dst[i + 2] = tb <= 0 ? 0 : tb >= 255 ? 255 : tb;
    }
  }
  return { ...img, data: dst };
}

/** Tables for the per-pixel hue shift, built once per thread from the scalar conversions below. */
export interface HueTables {
  /** Pillow's 8-bit hue: [(maxCase * 256 + (max - min)) * 512 + d + 255], d the difference of the other two channels. */
  hue: Uint8Array;
  /** Pillow's 8-bit saturation: [max * 256 + (max - min)]. */
  sat: Uint8Array;
  /** hsv2rgb: p = round(v * (1 - s/255)) at [s * 256 + v]; s/255 as float32 at [s]. */
  p: Uint8Array;
  fs: Float64Array;
  /** hsv2rgb per hue h: the sector i, and f (odd sectors, which need q) or 1 - f (even ones, which need t). */
  sector: Uint8Array;
  g: Float64Array;
}
let hueTables: HueTables | undefined;

/** The hue tables of this thread (built on first use, about 20 ms). */
export function getHueTables(): HueTables {
  return (hueTables ??= buildHueTables());
}

function buildHueTables(): HueTables {
  const hue = new Uint8Array(3 * 256 * 512);
  const hsv = new Uint8Array(3);
  // Pillow's hue depends only on which channel is the maximum (r first, then g), max - min and the
  // differences to the maximum: one representative pixel with max 255 per entry.
  for (let c = 0; c < 3; c++) {
    for (let cr = 1; cr < 256; cr++) {
      for (let d = -cr; d <= cr; d++) {
        const lo = 255 - cr;
        // c 0: d = g - b; c 1: d = b - r; c 2: d = r - g (the two channels after the maximum, cyclically).
        const first = d >= 0 ? lo + d : lo;
        const second = d >= 0 ? lo : lo - d;
        const px = c === 0 ? [255, first, second] : c === 1 ? [second, 255, first] : [first, second, 255];
        rgb2hsv(px[0], px[1], px[2], hsv);
        hue[(c * 256 + cr) * 512 + d + 255] = hsv[0];
      }
    }
  }
  const sat = new Uint8Array(256 * 256);
  for (let max = 1; max < 256; max++) {
    for (let cr = 1; cr <= max; cr++) {
      rgb2hsv(max, max - cr, max - cr, hsv);
      sat[max * 256 + cr] = hsv[1];
    }
  }
  const sector = new Uint8Array(256);
  const g = new Float64Array(256);
  for (let h = 0; h < 256; h++) {
    const i = floor(fround((h * 6.0) / 255.0));
    const f = fround((h * 6.0) / 255.0 - i);
    sector[h] = i % 6;
    g[h] = i % 2 === 1 ? f : 1.0 - f;
  }
  const fsOf = new Float64Array(256);
  const p = new Uint8Array(256 * 256);
  for (let s = 0; s < 256; s++) {
    const fs = fround(s / 255.0);
    fsOf[s] = fs;
    for (let v = 0; v < 256; v++) p[s * 256 + v] = clip8(round(v * (1.0 - fs)));
  }
  return { hue, sat, p, fs: fsOf, sector, g };
}

/** torchvision F_pil.adjust_hue: HSV round trip, hue shifted by uint8(hue_factor*255) with wrap. */
export function adjustHue(img: Image, factor: number, out?: Uint8Array): Image {
  if (img.channels !== 3) {
    if (!out) return img;
    out.set(img.data as Uint8Array);
    return { ...img, data: out };
  }
  const tb = getHueTables();
  const { hue, sat, p: P, fs: FS, sector, g: G } = tb;
  const src = img.data as Uint8Array;
  const dst = outOf(img, out);
  const shift = ((trunc(factor * 255) % 256) + 256) % 256;
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    let v: number;
    let min: number;
    let key: number;
    if (r >= g && r >= b) {
      v = r;
      min = g < b ? g : b;
      key = g - b;
    } else if (g >= b) {
      v = g;
      min = r < b ? r : b;
      key = 256 * 512 + b - r;
    } else {
      v = b;
      min = r < g ? r : g;
      key = 2 * 256 * 512 + r - g;
    }
    const cr = v - min;
    const s = sat[v * 256 + cr];
    if (cr === 0 || s === 0) {
      // Grey in HSV (s = 0): hsv2rgb gives (v, v, v) whatever the hue.
      dst[i] = dst[i + 1] = dst[i + 2] = v;
      continue;
    }
    const h = (hue[key + cr * 512 + 255] + shift) & 255;
    const pp = P[s * 256 + v];
    // q = round(v * (1 - fs * f)) in odd sectors, t = round(v * (1 - fs * (1 - f))) in even ones (Pillow's hsv2rgb).
    const x = round(v * (1.0 - FS[s] * G[h]));
    switch (sector[h]) {
      case 0: dst[i] = v; dst[i + 1] = x; dst[i + 2] = pp; break;
      case 1: dst[i] = x; dst[i + 1] = v; dst[i + 2] = pp; break;
      case 2: dst[i] = pp; dst[i + 1] = v; dst[i + 2] = x; break;
      case 3: dst[i] = pp; dst[i + 1] = x; dst[i + 2] = v; break;
      case 4: dst[i] = x; dst[i + 1] = pp; dst[i + 2] = v; break;
      default: dst[i] = v; dst[i + 1] = pp; dst[i + 2] = x;
    }
  }
  return { ...img, data: dst };
}

const clip8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/** Pillow Convert.c rgb2hsv_row (the reference the hue tables are built from). */
export function rgb2hsv(r: number, g: number, b: number, out: Uint8Array): void {
  const maxc = r > g ? (r > b ? r : b) : g > b ? g : b;
  const minc = r < g ? (r < b ? r : b) : g < b ? g : b;
  out[2] = maxc;
  if (minc === maxc) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const cr = maxc - minc;
  const s = fround(cr / maxc);
  const rc = fround((maxc - r) / cr);
  const gc = fround((maxc - g) / cr);
  const bc = fround((maxc - b) / cr);
  let h: number;
  if (r === maxc) h = fround(bc - gc);
  else if (g === maxc) h = fround(2.0 + rc - bc);
  else h = fround(4.0 + gc - rc);
  const h6 = h / 6.0 + 1.0; // in [0.83, 1.84): fmod(h6, 1.0) is an exact subtraction
  h = fround(h6 >= 1.0 ? h6 - 1.0 : h6);
  out[0] = clip8(trunc(h * 255.0));
  out[1] = clip8(trunc(s * 255.0));
}

/** torchvision rgb_to_grayscale (PIL `convert('L')`, replicated to `channels`). */
export function toGrayscale(img: Image, channels = img.channels): Image {
  const px = img.height * img.width;
  if (channels === 1 || img.channels !== 3) {
    const l = luma(img.data as Uint8Array, img.channels, px);
    if (channels === 1) return { data: l, height: img.height, width: img.width, channels: 1 };
    const out = new Uint8Array(px * channels);
    for (let p = 0; p < px; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = l[p];
    return { data: out, height: img.height, width: img.width, channels };
  }
  const src = img.data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) out[i] = out[i + 1] = out[i + 2] = (src[i] * 19595 + src[i + 1] * 38470 + src[i + 2] * 7471 + 0x8000) >>> 16;
  return { data: out, height: img.height, width: img.width, channels: 3 };
}
