import type { Image } from '../../types.js';
import { constantBlendLut, getHueTables } from '../pil-color.js';
import type { WasmKernels } from './kernels.js';

/** The jitter factors (null = op off) and the order of the ops (0 brightness, 1 contrast, 2 saturation, 3 hue). */
export interface JitterOps {
  order: number[];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/** Copies the hue tables (pil-color.ts) into wasm memory [0, scratch) once. */
function loadHueTables(k: WasmKernels): void {
  if (k.tablesLoaded) return;
  const t = getHueTables();
  const m = k.bytes(0);
  let o = 0;
  m.set(t.hue, o);
  o += t.hue.length;
  m.set(t.sat, o);
  o += t.sat.length;
  m.set(t.p, o);
  o += t.p.length;
  new Float64Array(m.buffer, o, 256).set(t.fs);
  o += 2048;
  new Float64Array(m.buffer, o, 256).set(t.g);
  o += 2048;
  m.set(t.sector, o);
  k.tablesLoaded = true;
}

/**
 * torchvision ColorJitter with fixed parameters on an RGB uint8 image, in wasm memory: the same
 * arithmetic as the JS ops of pil-color.ts (checked against PIL on every 24-bit colour), one copy in
 * and one out. Returns a new buffer.
 */
export function jitterWasm(k: WasmKernels, img: Image, p: JitterOps): Uint8Array {
  const src = img.data as Uint8Array;
  const npx = img.width * img.height;
  const n = src.length;
  const ptr = k.scratch;
  const aux = ptr + ((n + 15) & ~15);
  if (p.hue !== null) loadHueTables(k);
  let m = k.bytes(aux - ptr + 2048);
  m.set(src, ptr);
  for (const op of p.order) {
    if (op === 0 && p.brightness !== null) {
      m.set(constantBlendLut(0, p.brightness), aux);
      k.applyLut(ptr, n, aux);
    } else if (op === 1 && p.contrast !== null) {
      const mean = Math.trunc(k.lumaSum(ptr, npx) / npx + 0.5);
      m.set(constantBlendLut(mean, p.contrast), aux);
      k.applyLut(ptr, n, aux);
    } else if (op === 2 && p.saturation !== null) {
      const al = Math.fround(p.saturation);
      const step = new Float32Array(m.buffer, aux, 511);
      for (let d = -255; d <= 255; d++) step[d + 255] = al * d;
      k.saturate(ptr, npx, aux);
    } else if (op === 3 && p.hue !== null) {
      k.hue(ptr, npx, ((Math.trunc(p.hue * 255) % 256) + 256) % 256, 0);
    }
    m = k.bytes(0);
  }
  return m.slice(ptr, ptr + n);
}
