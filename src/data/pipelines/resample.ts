import { SslError } from '../../errors.js';
import type { Image } from '../types.js';

/**
 * PIL's resampling (Pillow Resample.c): separable convolution, horizontal pass first, 8-bit
 * intermediate, 22-bit fixed-point coefficients, antialiasing support scaled on downsampling.
 * NEAREST follows PIL's affine nearest (centre sampling).
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

interface Coeffs {
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

const clip8 = (v: number): number => {
  const r = v >> PRECISION_BITS;
  return r < 0 ? 0 : r > 255 ? 255 : r;
};

/**
 * Resizes the `box` region [x0, y0, x1, y1] (floats, PIL `Image.resize(size, resample, box)`) of a
 * uint8 HWC image to `outW x outH`.
 */
export function resizeUint8(img: Image, outW: number, outH: number, interpolation: Interpolation, box?: [number, number, number, number]): Image {
  const src = img.data as Uint8Array;
  const C = img.channels;
  const [bx0, by0, bx1, by1] = box ?? [0, 0, img.width, img.height];
  if (outW === img.width && outH === img.height && bx0 === 0 && by0 === 0 && bx1 === img.width && by1 === img.height) {
    return { ...img, data: src.slice() };
  }
  if (interpolation === 'nearest') return resizeNearest(img, outW, outH, [bx0, by0, bx1, by1]);
  const filter = FILTERS[interpolation];
  const needH = outW !== img.width || bx0 !== 0 || bx1 !== outW;
  const needV = outH !== img.height || by0 !== 0 || by1 !== outH;
  const ch = coeffs(img.width, bx0, bx1, outW, filter);
  const cv = coeffs(img.height, by0, by1, outH, filter);
  let cur: Uint8Array = src;
  let curW = img.width;
  let curH = img.height;
  let rowOffset = 0;
  const vb = Int32Array.from(cv.bounds);
  if (needH) {
    const yFirst = cv.bounds[0];
    const yLast = cv.bounds[outH * 2 - 2] + cv.bounds[outH * 2 - 1];
    for (let i = 0; i < outH; i++) vb[2 * i] -= yFirst;
    const tmpH = yLast - yFirst;
    const tmp = new Uint8Array(outW * tmpH * C);
    const { ksize, bounds, kk } = ch;
    for (let y = 0; y < tmpH; y++) {
      const inRow = (y + yFirst) * img.width * C;
      const outRow = y * outW * C;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[2 * xx];
        const n = bounds[2 * xx + 1];
        const k0 = xx * ksize;
        if (C === 3) {
          let s0 = 1 << (PRECISION_BITS - 1);
          let s1 = s0;
          let s2 = s0;
          let p = inRow + xmin * 3;
          for (let x = 0; x < n; x++, p += 3) {
            const k = kk[k0 + x];
            s0 += src[p] * k;
            s1 += src[p + 1] * k;
            s2 += src[p + 2] * k;
          }
          const o = outRow + xx * 3;
          tmp[o] = clip8(s0);
          tmp[o + 1] = clip8(s1);
          tmp[o + 2] = clip8(s2);
          continue;
        }
        for (let c = 0; c < C; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          let p = inRow + xmin * C + c;
          for (let x = 0; x < n; x++, p += C) ss += src[p] * kk[k0 + x];
          tmp[outRow + xx * C + c] = clip8(ss);
        }
      }
    }
    cur = tmp;
    curW = outW;
    curH = tmpH;
    rowOffset = 0;
  }
  if (!needV) {
    return { data: cur === src ? src.slice() : cur, height: curH, width: curW, channels: C };
  }
  const out = new Uint8Array(outW * outH * C);
  const { ksize, kk } = cv;
  const stride = curW * C;
  // Row by row into an accumulator row: sequential memory access (exact integer sums in float64).
  const acc = new Float64Array(stride);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vb[2 * yy] + rowOffset;
    const n = vb[2 * yy + 1];
    const k0 = yy * ksize;
    const outRow = yy * stride;
    acc.fill(1 << (PRECISION_BITS - 1));
    for (let y = 0; y < n; y++) {
      const k = kk[k0 + y];
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] += cur[row + i] * k;
    }
    for (let i = 0; i < stride; i++) {
      const r = Math.floor(acc[i] / (1 << PRECISION_BITS));
      out[outRow + i] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
  return { data: out, height: outH, width: outW, channels: C };
}

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
