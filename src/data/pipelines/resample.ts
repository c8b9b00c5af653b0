import { SslError } from '../../errors.js';
import type { Image } from '../types.js';
import { wasmKernels } from './wasm/kernels.js';
import { wasmResample } from './wasm/resample.js';

/**
 * PIL's resampling (Pillow Resample.c): separable convolution, horizontal pass first, 8-bit
 * intermediate, 22-bit fixed-point coefficients, antialiasing support scaled on downsampling.
 * NEAREST follows PIL's affine nearest (centre sampling). 3-channel resizes that need both passes
 * run them in WebAssembly SIMD (wasm/kernels.wat, same integer arithmetic); the JS passes below are
 * the fallback and the path for other channel counts.
 */

/** PIL / torchvision interpolation names and codes (PIL: NEAREST=0, LANCZOS=1, BILINEAR=2, BICUBIC=3, BOX=4, HAMMING=5). */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'box' | 'hamming' | 'lanczos';

const CODES: Record<number, Interpolation> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

/** Parses an interpolation given as PIL code, torchvision enum name or string. */
export function parseInterpolation(v: unknown, type: string, fallback: Interpolation = 'bilinear'): Interpolation {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' && CODES[v]) return CODES[v];
  if (typeof v === 'string') {
    const s = v.toLowerCase().replace(/^interpolationmode\./, '').replace(/^pil\.image\./, '');
    const alias: Record<string, Interpolation> = { antialias: 'lanczos', cubic: 'bicubic', linear: 'bilinear' };
    const name = (alias[s] ?? s) as Interpolation;
    if (Object.values(CODES).includes(name)) return name;
  }
  throw new SslError(`${type}: unknown interpolation ${JSON.stringify(v)} (use nearest, bilinear, bicubic, box, hamming, lanczos or a PIL code 0-5)`);
}

interface Filter {
  support: number;
  f(x: number): number;
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));
const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, f: (x) => ((x = Math.abs(x)) < 1 ? 1 - x : 0) },
  hamming: {
    support: 1,
    f: (x) => {
      x = Math.abs(x);
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      return (Math.sin(x) / x) * (0.54 + 0.46 * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 22;

/** Pillow's fixed-point coefficients of one axis: per output, the first input and the count, and `ksize` weights. */
export interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output
  kk: Int32Array;
}

/** Pillow precompute_coeffs + normalize_coeffs_8bpc. */
function coeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  const scale = (in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.f((x + xmin - center + 0.5) * ss);
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const k = x < xmax ? (ww !== 0 ? pre[x] / ww : pre[x]) : 0;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/**
 * Resizes the `box` region [x0, y0, x1, y1] (floats, PIL `Image.resize(size, resample, box)`) of a
 * uint8 HWC image to `outW x outH`.
 */
export function resizeUint8(img: Image, outW: number, outH: number, interpolation: Interpolation, box?: [number, number, number, number]): Image {
  const view: View = { src: img.data as Uint8Array, stride: img.width * img.channels, left: 0, top: 0, width: img.width, height: img.height, C: img.channels };
  const b = box ?? [0, 0, img.width, img.height];
  if (outW === img.width && outH === img.height && b[0] === 0 && b[1] === 0 && b[2] === img.width && b[3] === img.height) {
    return { ...img, data: (img.data as Uint8Array).slice() };
  }
  if (interpolation === 'nearest') return resizeNearest(img, outW, outH, b);
  return resample(view, outW, outH, FILTERS[interpolation], b);
}

/**
 * torchvision `resized_crop` on PIL: `img.crop((left, top, left + width, top + height)).resize((outW, outH))`,
 * without materialising the crop when the box lies inside the image.
 */
export function resizedCropUint8(img: Image, top: number, left: number, height: number, width: number, outW: number, outH: number, interpolation: Interpolation): Image {
  const inside = top >= 0 && left >= 0 && top + height <= img.height && left + width <= img.width;
  if (!inside || interpolation === 'nearest' || (outW === width && outH === height)) {
    return resizeUint8(cropUint8(img, top, left, height, width), outW, outH, interpolation);
  }
  const C = img.channels;
  const view: View = { src: img.data as Uint8Array, stride: img.width * C, left, top, width, height, C };
  return resample(view, outW, outH, FILTERS[interpolation], [0, 0, width, height]);
}

/** A rectangle of a uint8 HWC buffer: pixel (x, y) of the view is at `(top + y) * stride + (left + x) * C`. */
export interface View {
  src: Uint8Array;
  stride: number;
  left: number;
  top: number;
  width: number;
  height: number;
  C: number;
}

const HALF = 1 << (PRECISION_BITS - 1);

/** Pillow ImagingResampleInner: horizontal pass (only over the rows the vertical pass reads), then vertical. */
function resample(v: View, outW: number, outH: number, filter: Filter, box: [number, number, number, number]): Image {
  const { src, C } = v;
  const [bx0, by0, bx1, by1] = box;
  const needH = outW !== v.width || bx0 !== 0 || bx1 !== outW;
  const needV = outH !== v.height || by0 !== 0 || by1 !== outH;
  const cv = coeffs(v.height, by0, by1, outH, filter);
  // `cur` holds the rows [rowFirst, ...) of the horizontally resampled (or original) view.
  let cur = src;
  let curStride = v.stride;
  let curLeft = v.left * C;
  let rowFirst = -v.top;
  if (needH && needV && C === 3) {
    const k = wasmKernels();
    if (k) return { data: wasmResample(k, v, coeffs(v.width, bx0, bx1, outW, filter), cv, outW, outH), height: outH, width: outW, channels: C };
  }
  if (needH) {
    const ch = coeffs(v.width, bx0, bx1, outW, filter);
    const yFirst = needV ? cv.bounds[0] : 0;
    const yLast = needV ? cv.bounds[outH * 2 - 2] + cv.bounds[outH * 2 - 1] : v.height;
    cur = horizontalPass(v, ch, outW, yFirst, yLast);
    curStride = outW * C;
    curLeft = 0;
    rowFirst = yFirst;
  }
  const width = needH ? outW : v.width;
  if (!needV) {
    if (needH) return { data: cur, height: v.height, width, channels: C };
    const out = new Uint8Array(outH * width * C);
    for (let y = 0; y < outH; y++) out.set(src.subarray((v.top + y) * v.stride + curLeft, (v.top + y) * v.stride + curLeft + width * C), y * width * C);
    return { data: out, height: outH, width, channels: C };
  }
  return { data: verticalPass(cur, curStride, curLeft, rowFirst, width * C, cv, outH), height: outH, width, channels: C };
}

function horizontalPass(v: View, ch: Coeffs, outW: number, yFirst: number, yLast: number): Uint8Array {
  const { src, C, stride } = v;
  const { ksize, bounds, kk } = ch;
  const rows = yLast - yFirst;
  const out = new Uint8Array(outW * rows * C);
  for (let y = 0; y < rows; y++) {
    const inRow = (v.top + yFirst + y) * stride + v.left * C;
    let o = y * outW * C;
    if (C === 3) {
      for (let xx = 0; xx < outW; xx++, o += 3) {
        const n = bounds[2 * xx + 1];
        const k0 = xx * ksize;
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        let p = inRow + bounds[2 * xx] * 3;
        for (let x = 0; x < n; x++, p += 3) {
          const k = kk[k0 + x];
          s0 += src[p] * k;
          s1 += src[p + 1] * k;
          s2 += src[p + 2] * k;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
      continue;
    }
    for (let xx = 0; xx < outW; xx++, o += C) {
      const n = bounds[2 * xx + 1];
      const k0 = xx * ksize;
      for (let c = 0; c < C; c++) {
        let ss = HALF;
        let p = inRow + bounds[2 * xx] * C + c;
        for (let x = 0; x < n; x++, p += C) ss += src[p] * kk[k0 + x];
        out[o + c] = clip8(ss);
      }
    }
  }
  return out;
}

/** Vertical pass: output row yy from rows bounds[2yy].. of `cur` (row y of the view at `(y - rowFirst) * stride + left`). */
function verticalPass(cur: Uint8Array, stride: number, left: number, rowFirst: number, rowLen: number, cv: Coeffs, outH: number): Uint8Array {
  const { ksize, bounds, kk } = cv;
  const out = new Uint8Array(outH * rowLen);
  for (let yy = 0; yy < outH; yy++) {
    const n = bounds[2 * yy + 1];
    const k0 = yy * ksize;
    const r0 = (bounds[2 * yy] - rowFirst) * stride + left;
    const o = yy * rowLen;
    if (n === 2) {
      const ka = kk[k0];
      const kb = kk[k0 + 1];
      const r1 = r0 + stride;
      for (let i = 0; i < rowLen; i++) out[o + i] = clip8(HALF + cur[r0 + i] * ka + cur[r1 + i] * kb);
    } else if (n === 3) {
      const ka = kk[k0];
      const kb = kk[k0 + 1];
      const kc = kk[k0 + 2];
      const r1 = r0 + stride;
      const r2 = r1 + stride;
      for (let i = 0; i < rowLen; i++) out[o + i] = clip8(HALF + cur[r0 + i] * ka + cur[r1 + i] * kb + cur[r2 + i] * kc);
    } else {
      for (let i = 0; i < rowLen; i++) {
        let ss = HALF;
        for (let y = 0, p = r0 + i; y < n; y++, p += stride) ss += cur[p] * kk[k0 + y];
        out[o + i] = clip8(ss);
      }
    }
  }
  return out;
}

const clip8 = (v: number): number => {
  const r = v >> PRECISION_BITS;
  return r < 0 ? 0 : r > 255 ? 255 : r;
};

/** PIL nearest resize (affine scale, sampling at pixel centres). */
function resizeNearest(img: Image, outW: number, outH: number, box: [number, number, number, number]): Image {
  const C = img.channels;
  const src = img.data;
  const out = new Uint8Array(outW * outH * C);
  const sx = (box[2] - box[0]) / outW;
  const sy = (box[3] - box[1]) / outH;
  const xin = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xin[x] = Math.min(img.width - 1, Math.max(0, Math.floor(box[0] + (x + 0.5) * sx)));
  for (let y = 0; y < outH; y++) {
    const yi = Math.min(img.height - 1, Math.max(0, Math.floor(box[1] + (y + 0.5) * sy)));
    for (let x = 0; x < outW; x++) {
      const s = (yi * img.width + xin[x]) * C;
      const d = (y * outW + x) * C;
      for (let c = 0; c < C; c++) out[d + c] = src[s + c];
    }
  }
  return { data: out, height: outH, width: outW, channels: C };
}

/** PIL `Image.crop((left, top, left+width, top+height))`: integer box, zero outside the image. */
export function cropUint8(img: Image, top: number, left: number, height: number, width: number): Image {
  const C = img.channels;
  const src = img.data as Uint8Array;
  const out = new Uint8Array(height * width * C);
  for (let y = 0; y < height; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= img.height) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, img.width - left);
    if (x1 <= x0) continue;
    out.set(src.subarray((sy * img.width + left + x0) * C, (sy * img.width + left + x1) * C), (y * width + x0) * C);
  }
  return { data: out, height, width, channels: C };
}
