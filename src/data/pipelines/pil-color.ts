import type { Image } from '../types.js';
import { luma } from '../image.js';

/**
 * PIL colour operations as torchvision's functional_pil uses them (ImageEnhance + Image.blend,
 * RGB<->HSV from Pillow's Convert.c), bit-exact in 8 bits: C float arithmetic via Math.fround,
 * truncation where Pillow casts.
 */


/** Pillow's blend of two 8-bit values: a + alpha * (b - a) in single precision, truncated / clipped. */
function blendValue(x: number, y: number, al: number, inRange: boolean): number {
  const t = Math.fround(x + Math.fround(al * (y - x)));
  return inRange ? Math.trunc(t) : t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
}

/**
 * Pillow `Image.blend(a, b, alpha)` = a + alpha * (b - a), single precision, truncated / clipped.
 * `a` is an image or a constant; both cases go through lookup tables (256 or 256x256 entries).
 */
export function blend(a: Uint8Array | number, b: Uint8Array, alpha: number): Uint8Array {
  const out = new Uint8Array(b.length);
  const al = Math.fround(alpha);
  const inRange = al >= 0 && al <= 1;
  if (typeof a === 'number') {
    const lut = new Uint8Array(256);
    for (let y = 0; y < 256; y++) lut[y] = blendValue(a, y, al, inRange);
    for (let i = 0; i < b.length; i++) out[i] = lut[b[i]];
    return out;
  }
  const lut = new Uint8Array(65536);
  for (let x = 0; x < 256; x++) for (let y = 0; y < 256; y++) lut[(x << 8) | y] = blendValue(x, y, al, inRange);
  for (let i = 0; i < b.length; i++) out[i] = lut[(a[i] << 8) | b[i]];
  return out;
}

/** The grey image (L replicated to the image's channels), PIL `convert('L').convert(mode)`. */
export function greyOf(img: Image): Uint8Array {
  const C = img.channels;
  const px = img.height * img.width;
  const l = luma(img.data as Uint8Array, C, px);
  if (C === 1) return l;
  const out = new Uint8Array(px * C);
  for (let p = 0; p < px; p++) for (let c = 0; c < C; c++) out[p * C + c] = l[p];
  return out;
}

export function adjustBrightness(img: Image, factor: number): Image {
  return { ...img, data: blend(0, img.data as Uint8Array, factor) };
}

export function adjustContrast(img: Image, factor: number): Image {
  const C = img.channels;
  const px = img.height * img.width;
  const l = luma(img.data as Uint8Array, C, px);
  let sum = 0;
  for (let p = 0; p < px; p++) sum += l[p];
  const mean = Math.trunc(sum / px + 0.5);
  return { ...img, data: blend(mean, img.data as Uint8Array, factor) };
}

export function adjustSaturation(img: Image, factor: number): Image {
  if (img.channels === 1) return { ...img, data: blend(img.data as Uint8Array, img.data as Uint8Array, factor) };
  return { ...img, data: blend(greyOf(img), img.data as Uint8Array, factor) };
}

/** torchvision F_pil.adjust_hue: HSV round trip, hue shifted by uint8(hue_factor*255) with wrap. */
export function adjustHue(img: Image, factor: number): Image {
  if (img.channels !== 3) return img;
  const src = img.data as Uint8Array;
  const out = new Uint8Array(src.length);
  const shift = ((Math.trunc(factor * 255) % 256) + 256) % 256;
  const hsv = new Uint8Array(3);
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i];
    const g = src[i + 1];
    const b = src[i + 2];
    if (r === g && g === b) {
      // Grey: hue and saturation 0, and hsv2rgb of s = 0 is (v, v, v) whatever the hue.
      out[i] = out[i + 1] = out[i + 2] = r;
      continue;
    }
    rgb2hsv(r, g, b, hsv);
    hsv2rgb((hsv[0] + shift) & 255, hsv[1], hsv[2], out, i);
  }
  return { ...img, data: out };
}

const clip8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/** Pillow Convert.c rgb2hsv_row. */
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
  const s = Math.fround(cr / maxc);
  const rc = Math.fround((maxc - r) / cr);
  const gc = Math.fround((maxc - g) / cr);
  const bc = Math.fround((maxc - b) / cr);
  let h: number;
  if (r === maxc) h = Math.fround(bc - gc);
  else if (g === maxc) h = Math.fround(2.0 + rc - bc);
  else h = Math.fround(4.0 + gc - rc);
  const h6 = h / 6.0 + 1.0; // in [0.83, 1.84): fmod(h6, 1.0) is an exact subtraction
  h = Math.fround(h6 >= 1.0 ? h6 - 1.0 : h6);
  out[0] = clip8(Math.trunc(h * 255.0));
  out[1] = clip8(Math.trunc(s * 255.0));
}

/** Pillow Convert.c hsv2rgb for one pixel, written at out[o..o+2]. */
export function hsv2rgb(h: number, s: number, v: number, out: Uint8Array, o: number): void {
  if (s === 0) {
    out[o] = out[o + 1] = out[o + 2] = v;
    return;
  }
  const i = Math.floor(Math.fround((h * 6.0) / 255.0));
  const f = Math.fround((h * 6.0) / 255.0 - i);
  const fs = Math.fround(s / 255.0);
  const p = clip8(Math.round(v * (1.0 - fs)));
  const q = clip8(Math.round(v * (1.0 - fs * f)));
  const t = clip8(Math.round(v * (1.0 - fs * (1.0 - f))));
  switch (i % 6) {
    case 0: out[o] = v; out[o + 1] = t; out[o + 2] = p; break;
    case 1: out[o] = q; out[o + 1] = v; out[o + 2] = p; break;
    case 2: out[o] = p; out[o + 1] = v; out[o + 2] = t; break;
    case 3: out[o] = p; out[o + 1] = q; out[o + 2] = v; break;
    case 4: out[o] = t; out[o + 1] = p; out[o + 2] = v; break;
    default: out[o] = v; out[o + 1] = p; out[o + 2] = q;
  }
}

/** torchvision rgb_to_grayscale (PIL `convert('L')`, replicated to `channels`). */
export function toGrayscale(img: Image, channels = img.channels): Image {
  const px = img.height * img.width;
  const l = luma(img.data as Uint8Array, img.channels, px);
  if (channels === 1) return { data: l, height: img.height, width: img.width, channels: 1 };
  const out = new Uint8Array(px * channels);
  for (let p = 0; p < px; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = l[p];
  return { data: out, height: img.height, width: img.width, channels };
}

/** Pillow BoxBlur.c `_gaussian_blur_radius`: the extended-box radius for 3 passes. */
function boxRadius(radius: number, passes: number): number {
  const sigma2 = Math.fround((radius * radius) / passes);
  const L = Math.fround(Math.sqrt(12.0 * sigma2 + 1.0));
  const l = Math.fround(Math.floor((L - 1.0) / 2.0));
  let a = Math.fround((2 * l + 1) * (l * (l + 1) - 3 * sigma2));
  a = Math.fround(a / (6 * (sigma2 - (l + 1) * (l + 1))));
  return Math.fround(l + a);
}

/**
 * One extended-box pass along lines (Pillow ImagingLineBoxBlur32), edge pixels repeated, all C
 * interleaved channels at once: `lines` lines of `len` pixels, pixel k of line l at
 * `l * lineStride + k * step` (channels contiguous from there). In place is fine.
 */
function boxPass(data: Uint8Array, C: number, lines: number, len: number, lineStride: number, step: number, floatRadius: number, line: Int32Array): void {
  const radius = Math.trunc(floatRadius);
  const ww = Math.trunc(Math.fround((1 << 24) / Math.fround(floatRadius * 2 + 1)));
  const fw = Math.trunc(((1 << 24) - (radius * 2 + 1) * ww) / 2);
  const last = len - 1;
  const span = 2 * radius + 1;
  const n = len + 2 * radius + 2;
  const half = 1 << 23;
  const acc = new Float64Array(C);
  for (let l = 0; l < lines; l++) {
    const base = l * lineStride;
    // line[k*C + c] = channel c of the pixel at x = k - radius - 1 (clamped to the edges).
    for (let k = 0; k < n; k++) {
      const x = k - radius - 1;
      const p = base + (x < 0 ? 0 : x > last ? last : x) * step;
      for (let c = 0; c < C; c++) line[k * C + c] = data[p + c];
    }
    for (let c = 0; c < C; c++) {
      let a = 0;
      for (let k = 1; k <= span; k++) a += line[k * C + c];
      acc[c] = a;
    }
    if (C === 3) {
      let a0 = acc[0];
      let a1 = acc[1];
      let a2 = acc[2];
      for (let x = 0; x < len; x++) {
        const o = base + x * step;
        const lo = x * 3;
        const far = lo + (span + 1) * 3;
        if (x > 0) {
          const hi = lo + span * 3;
          a0 += line[hi] - line[lo];
          a1 += line[hi + 1] - line[lo + 1];
          a2 += line[hi + 2] - line[lo + 2];
        }
        data[o] = (a0 * ww + (line[lo] + line[far]) * fw + half) >>> 24;
        data[o + 1] = (a1 * ww + (line[lo + 1] + line[far + 1]) * fw + half) >>> 24;
        data[o + 2] = (a2 * ww + (line[lo + 2] + line[far + 2]) * fw + half) >>> 24;
      }
      continue;
    }
    for (let x = 0; x < len; x++) {
      const o = base + x * step;
      const lo = x * C;
      const hi = (x + span) * C;
      const far = (x + span + 1) * C;
      for (let c = 0; c < C; c++) {
        if (x > 0) acc[c] += line[hi + c] - line[lo + c];
        data[o + c] = (acc[c] * ww + (line[lo + c] + line[far + c]) * fw + half) >>> 24;
      }
    }
  }
}

/** PIL `ImageFilter.GaussianBlur(radius)`: 3 extended-box passes per axis (Pillow BoxBlur.c). */
export function gaussianBlur(img: Image, radius: number): Image {
  const out = (img.data as Uint8Array).slice();
  if (radius === 0) return { ...img, data: out };
  const r = boxRadius(radius, 3);
  const { width: w, height: h, channels: C } = img;
  const line = new Int32Array((Math.max(w, h) + 2 * Math.trunc(r) + 2) * C);
  // Rows: h lines of w pixels; then columns: w lines of h pixels.
  for (let i = 0; i < 3; i++) boxPass(out, C, h, w, w * C, C, r, line);
  for (let i = 0; i < 3; i++) boxPass(out, C, w, h, C, w * C, r, line);
  return { ...img, data: out };
}
