import type { Image } from '../types.js';
import { wasmKernels, type WasmKernels } from './wasm/kernels.js';

// Local bindings: hot loops then do not look `Math` up on the global object (slow in vm contexts such as jest's).
const { imul, fround, trunc, floor, sqrt } = Math;

/**
 * PIL `ImageFilter.GaussianBlur(radius)` (Pillow BoxBlur.c), bit-exact: 3 extended-box passes along
 * rows, then 3 along columns, each rounding to 8 bits. For one line and box radius r (integer part)
 * with edge pixels repeated, output x = (sum(v[x-r..x+r]) * ww + (v[x-r-1] + v[x+r+1]) * fw + 2^23) >> 24.
 * With WebAssembly SIMD (wasm/kernels.wat) each pass is one kernel call over a padded copy of the
 * image; the JS fallback runs rows through padded line buffers and columns over whole rows.
 */

/** Pillow `_gaussian_blur_radius`: the extended-box radius for `passes` passes. */
function boxRadius(radius: number, passes: number): number {
  const sigma2 = fround((radius * radius) / passes);
  const L = fround(sqrt(12.0 * sigma2 + 1.0));
  const l = fround(floor((L - 1.0) / 2.0));
  let a = fround((2 * l + 1) * (l * (l + 1) - 3 * sigma2));
  a = fround(a / (6 * (sigma2 - (l + 1) * (l + 1))));
  return fround(l + a);
}

/** Box weights of one pass (Pillow ImagingHorizontalBoxBlur): integer radius, centre weight, edge weight. */
function weights(floatRadius: number): { r: number; ww: number; fw: number } {
  const r = trunc(floatRadius);
  const ww = trunc(fround((1 << 24) / fround(floatRadius * 2 + 1)));
  const fw = trunc(((1 << 24) - (r * 2 + 1) * ww) / 2);
  return { r, ww, fw };
}

const HALF = 1 << 23;

/** Repeats the first and last pixel of the line at `[pad, pad + len)` into its `pad` pixels each side. */
function padEdges(line: Uint8Array, C: number, len: number, pad: number): void {
  const first = pad * C;
  const last = (pad + len - 1) * C;
  for (let k = 0; k < pad; k++) {
    for (let c = 0; c < C; c++) {
      line[k * C + c] = line[first + c];
      line[(pad + len + k) * C + c] = line[last + c];
    }
  }
}

/**
 * One box pass from padded line `a` (pixel x at `(x + pad) * C`, pad = r + 1) into `b` at
 * `bOff + x * C`. Interleaved channels are independent: a line of C-channel pixels is a line of
 * single values with neighbours C apart. Radii 0 and 1 (GaussianBlur sigma up to about 2.9) sum
 * their few taps directly; larger radii keep a running sum.
 */
function linePass(a: Uint8Array, b: Uint8Array, bOff: number, C: number, len: number, r: number, ww: number, fw: number): void {
  const n = len * C;
  const base = (r + 1) * C;
  if (r === 0) {
    for (let e = 0, p = base; e < n; e++, p++) b[bOff + e] = (imul(a[p], ww) + imul(a[p - C] + a[p + C], fw) + HALF) >>> 24;
    return;
  }
  if (r === 1) {
    const C2 = 2 * C;
    for (let e = 0, p = base; e < n; e++, p++) b[bOff + e] = (imul(a[p - C] + a[p] + a[p + C], ww) + imul(a[p - C2] + a[p + C2], fw) + HALF) >>> 24;
    return;
  }
  const span = (2 * r + 1) * C;
  // acc for output element e: sum of padded elements e + C .. e + span (pixels x - r .. x + r).
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let k = c + C; k <= c + span; k += C) acc += a[k];
    for (let e = c; e < n; e += C) {
      if (e !== c) acc += a[e + span] - a[e];
      b[bOff + e] = (imul(acc, ww) + imul(a[e] + a[e + span + C], fw) + HALF) >>> 24;
    }
  }
}

/** 3 box passes along each row of `src` (H x W x C) into `dst`. */
function rowPasses(src: Uint8Array, dst: Uint8Array, W: number, H: number, C: number, r: number, ww: number, fw: number): void {
  const pad = r + 1;
  const lineLen = (W + 2 * pad) * C;
  const a = new Uint8Array(lineLen);
  const b = new Uint8Array(lineLen);
  const rowLen = W * C;
  const inner = pad * C;
  for (let y = 0; y < H; y++) {
    const row = y * rowLen;
    a.set(src.subarray(row, row + rowLen), inner);
    padEdges(a, C, W, pad);
    linePass(a, b, inner, C, W, r, ww, fw);
    padEdges(b, C, W, pad);
    linePass(b, a, inner, C, W, r, ww, fw);
    padEdges(a, C, W, pad);
    linePass(a, dst, row, C, W, r, ww, fw);
  }
}

/** One box pass along the columns of `src` (H rows of `stride` values) into `dst`, row by row. */
function columnPass(src: Uint8Array, dst: Uint8Array, stride: number, H: number, r: number, ww: number, fw: number, acc: Int32Array): void {
  const last = H - 1;
  const rowAt = (y: number) => (y < 0 ? 0 : y > last ? last : y) * stride;
  if (r <= 1) {
    for (let y = 0; y < H; y++) {
      const out = y * stride;
      const m1 = rowAt(y - 1);
      const z = rowAt(y);
      const p1 = rowAt(y + 1);
      if (r === 0) {
        for (let i = 0; i < stride; i++) dst[out + i] = (imul(src[z + i], ww) + imul(src[m1 + i] + src[p1 + i], fw) + HALF) >>> 24;
        continue;
      }
      const m2 = rowAt(y - 2);
      const p2 = rowAt(y + 2);
      for (let i = 0; i < stride; i++) {
        dst[out + i] = (imul(src[m1 + i] + src[z + i] + src[p1 + i], ww) + imul(src[m2 + i] + src[p2 + i], fw) + HALF) >>> 24;
      }
    }
    return;
  }
  acc.fill(0);
  for (let k = -r; k <= r; k++) {
    const o = rowAt(k);
    for (let i = 0; i < stride; i++) acc[i] += src[o + i];
  }
  for (let y = 0; y < H; y++) {
    const lo = rowAt(y - r - 1);
    const far = rowAt(y + r + 1);
    const out = y * stride;
    if (y > 0) {
      const add = rowAt(y + r);
      for (let i = 0; i < stride; i++) {
        const s = acc[i] + src[add + i] - src[lo + i];
        acc[i] = s;
        dst[out + i] = (imul(s, ww) + imul(src[lo + i] + src[far + i], fw) + HALF) >>> 24;
      }
    } else {
      for (let i = 0; i < stride; i++) dst[out + i] = (imul(acc[i], ww) + imul(src[lo + i] + src[far + i], fw) + HALF) >>> 24;
    }
  }
}

/** Repeats the edge pixels of rows [y0, y0 + rows) of a padded buffer (row stride S) into their `pad` pixels each side. */
function padRows(m: Uint8Array, base: number, rows: number, S: number, C: number, W: number, pad: number): void {
  for (let y = 0; y < rows; y++) {
    const row = base + y * S;
    const first = row + pad * C;
    const last = row + (pad + W - 1) * C;
    for (let k = 0; k < pad; k++) {
      for (let c = 0; c < C; c++) {
        m[row + k * C + c] = m[first + c];
        m[last + (k + 1) * C + c] = m[last + c];
      }
    }
  }
}

/** Repeats the first and last image row of a padded buffer into the `pad` rows above and below. */
function padColumns(m: Uint8Array, base: number, H: number, S: number, pad: number): void {
  const top = base + pad * S;
  const bottom = base + (pad + H - 1) * S;
  for (let k = 0; k < pad; k++) {
    m.copyWithin(base + k * S, top, top + S);
    m.copyWithin(bottom + (k + 1) * S, bottom, bottom + S);
  }
}

/**
 * The blur with the WebAssembly SIMD box pass: two padded copies of the image (pad = r + 1 pixels
 * on every side) in wasm memory; each pass runs over all rows at once, then the padding is refreshed.
 */
function wasmBlur(k: WasmKernels, src: Uint8Array, W: number, H: number, C: number, r: number, ww: number, fw: number): Uint8Array {
  const pad = r + 1;
  const S = (W + 2 * pad) * C;
  const size = (H + 2 * pad) * S;
  const A = k.scratch;
  const B = A + ((size + 15) & ~15);
  const m = k.bytes(B + size - A);
  const rowLen = W * C;
  for (let y = 0; y < H; y++) m.set(src.subarray(y * rowLen, (y + 1) * rowLen), A + (pad + y) * S + pad * C);
  const inA = A + pad * S;
  const inB = B + pad * S;
  const n = H * S;
  padRows(m, inA, H, S, C, W, pad);
  k.boxPass(inA, inB, n, C, r, ww, fw);
  padRows(m, inB, H, S, C, W, pad);
  k.boxPass(inB, inA, n, C, r, ww, fw);
  padRows(m, inA, H, S, C, W, pad);
  k.boxPass(inA, inB, n, C, r, ww, fw);
  padColumns(m, B, H, S, pad);
  k.boxPass(inB, inA, n, S, r, ww, fw);
  padColumns(m, A, H, S, pad);
  k.boxPass(inA, inB, n, S, r, ww, fw);
  padColumns(m, B, H, S, pad);
  k.boxPass(inB, inA, n, S, r, ww, fw);
  const out = new Uint8Array(src.length);
  for (let y = 0; y < H; y++) out.set(m.subarray(inA + y * S + pad * C, inA + y * S + pad * C + rowLen), y * rowLen);
  return out;
}

/** PIL `ImageFilter.GaussianBlur(radius)` of a uint8 HWC image (a new image). */
export function gaussianBlur(img: Image, radius: number): Image {
  const src = img.data as Uint8Array;
  if (radius === 0) return { ...img, data: src.slice() };
  const { r, ww, fw } = weights(boxRadius(radius, 3));
  const { width: W, height: H, channels: C } = img;
  const kernels = r < 100 ? wasmKernels() : null;
  if (kernels) return { ...img, data: wasmBlur(kernels, src, W, H, C, r, ww, fw) };
  const stride = W * C;
  const a = new Uint8Array(src.length);
  const b = new Uint8Array(src.length);
  rowPasses(src, a, W, H, C, r, ww, fw);
  const acc = new Int32Array(stride);
  columnPass(a, b, stride, H, r, ww, fw, acc);
  columnPass(b, a, stride, H, r, ww, fw, acc);
  columnPass(a, b, stride, H, r, ww, fw, acc);
  return { ...img, data: b };
}
