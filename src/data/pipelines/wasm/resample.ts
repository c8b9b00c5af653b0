import type { Coeffs, View } from '../resample.js';
import type { WasmKernels } from './kernels.js';

/** Both passes in WebAssembly: coefficient tables, the rows the vertical pass reads, then the two passes. */
export function wasmResample(k: WasmKernels, v: View, ch: Coeffs, cv: Coeffs, outW: number, outH: number): Uint8Array {
  const C = v.C;
  const yFirst = cv.bounds[0];
  const rows = cv.bounds[outH * 2 - 2] + cv.bounds[outH * 2 - 1] - yFirst;
  const inRow = v.width * C;
  const outRow = outW * C;
  const align = (n: number) => (n + 31) & ~15; // 16-byte aligned, with at least 16 bytes of slack
  const hb = k.scratch;
  const hk = hb + align(ch.bounds.byteLength);
  const vb = hk + align(ch.kk.byteLength);
  const vk = vb + align(cv.bounds.byteLength);
  const src = vk + align(cv.kk.byteLength);
  const tmp = src + align(rows * inRow);
  const dst = tmp + align(rows * outRow);
  const m = k.bytes(dst + align(outH * outRow) - hb);
  new Int32Array(m.buffer, hb, ch.bounds.length).set(ch.bounds);
  new Int32Array(m.buffer, hk, ch.kk.length).set(ch.kk);
  const vBounds = new Int32Array(m.buffer, vb, cv.bounds.length);
  vBounds.set(cv.bounds);
  for (let i = 0; i < outH; i++) vBounds[2 * i] -= yFirst;
  new Int32Array(m.buffer, vk, cv.kk.length).set(cv.kk);
  for (let y = 0; y < rows; y++) {
    const at = (v.top + yFirst + y) * v.stride + v.left * C;
    m.set(v.src.subarray(at, at + inRow), src + y * inRow);
  }
  k.resampleH3(src, inRow, rows, outW, hb, hk, ch.ksize, tmp);
  k.resampleV(tmp, outRow, outRow, outH, vb, vk, cv.ksize, dst);
  return m.slice(dst, dst + outH * outRow);
}

