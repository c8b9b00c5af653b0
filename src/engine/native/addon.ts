/**
 * Loads the native engine's addon (`native/`, C++ over Debian's oneDNN, built by `npm ci` when
 * `libdnnl-dev` and a C++ compiler are present). Never throws: when the addon is missing or fails to
 * load, the result says why, in words a user can act on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions (native/src/*.cc). Offsets are byte offsets into the wasm heap. */
export interface NativeAddon {
  setThreads(n: number): void;
  getThreads(): number;
  info(): { onednn: string; isa: string; bf16: boolean; threads: number };
  /** layouts: bit 0/1 first/second input in nChw16c, bit 2 the output may be; returns whether the output is nChw16c. */
  conv2dForward(heap: ArrayBuffer, params: Int32Array, x: number, filter: number, out: number, layouts?: number): boolean;
  conv2dBackwardData(heap: ArrayBuffer, params: Int32Array, dy: number, filter: number, dx: number, layouts?: number): boolean;
  conv2dBackwardWeights(heap: ArrayBuffer, params: Int32Array, x: number, dy: number, dfilter: number, layouts?: number): void;
  /** Converts an [N,H,W,C] activation in place between NHWC and nChw16c. */
  relayout(heap: ArrayBuffer, n: number, h: number, w: number, c: number, offset: number, toBlocked: boolean): void;
  batchMatMul(heap: ArrayBuffer, params: Int32Array, a: number, b: number, c: number, bias?: number): void;
  cacheSize(): number;
  /** Thread CPU ms and calls per category since the last call (then reset); `enable` turns the timing on or off. */
  profile(enable?: boolean): Record<string, [number, number]>;
  /** out (contiguous, shape) = in[Σ i_d·stride_d] from byte offset `input` (strides in elements). */
  stridedCopy(heap: ArrayBuffer, shape: Int32Array, strides: Int32Array, input: number, inputCount: number, out: number): void;
  /** hw > 0: x and y are nChw16c with H·W = hw. */
  batchNormForward(heap: ArrayBuffer, m: number, c: number, eps: number, x: number, gamma: number, beta: number, y: number, mean: number, variance: number, rstd: number, hw?: number): void;
  batchNormBackward(heap: ArrayBuffer, m: number, c: number, dy: number, x: number, mean: number, rstd: number, gamma: number, dx: number, dgamma: number, dbeta: number, hw?: number): void;
  batchNormStats(heap: ArrayBuffer, m: number, c: number, x: number, sum: number, sumSq: number): void;
  batchNormStatsBackward(heap: ArrayBuffer, m: number, c: number, dSum: number, dSumSq: number, x: number, dx: number): void;
  /** `hw` > 0: x and y are nChw16c (only where {@link batchNormApplyBlocked}). */
  batchNormApply(heap: ArrayBuffer, m: number, c: number, eps: number, x: number, mean: number, variance: number, gamma: number, beta: number, y: number, hw?: number): void;
  /** Whether batchNormApply reads its `hw` argument (absent from an addon built before it did). */
  batchNormApplyBlocked?: boolean;
  batchNormApplyBackward(heap: ArrayBuffer, m: number, c: number, eps: number, dy: number, x: number, mean: number, variance: number, gamma: number, dx: number, dmean: number, dvariance: number, dgamma: number, dbeta: number): void;
  relu(heap: ArrayBuffer, n: number, x: number, y: number): void;
  reluBackward(heap: ArrayBuffer, n: number, dy: number, x: number, dx: number): void;
  /** op: 0 add, 1 sub, 2 mul; an operand of period p < n repeats every p elements. */
  binary(heap: ArrayBuffer, op: 0 | 1 | 2, n: number, aPeriod: number, bPeriod: number, a: number, b: number, out: number): void;
  /** params: native/src/pooling.cc's block (NHWC geometry, pads, 1 = average excluding padding). */
  pool2dForward(heap: ArrayBuffer, params: Int32Array, x: number, y: number): void;
  pool2dBackward(heap: ArrayBuffer, params: Int32Array, dy: number, x: number, dx: number): void;
  softmaxForward(heap: ArrayBuffer, rows: number, c: number, x: number, y: number): void;
  softmaxBackward(heap: ArrayBuffer, rows: number, c: number, dy: number, y: number, dx: number): void;
  layerNormForward(heap: ArrayBuffer, rows: number, c: number, eps: number, x: number, gamma: number, beta: number, y: number, mean: number, variance: number): void;
  layerNormBackward(heap: ArrayBuffer, rows: number, c: number, eps: number, dy: number, x: number, mean: number, variance: number, gamma: number, dx: number, dgamma: number, dbeta: number): void;
  gelu(heap: ArrayBuffer, n: number, tanh: boolean, x: number, y: number): void;
  geluBackward(heap: ArrayBuffer, n: number, tanh: boolean, dy: number, x: number, dx: number): void;
  /** larsEta ≠ 0: LARS (< 0: trust ratio 1, a lars_exclude group); momentum 0: no buffer in or out. */
  sgdUpdate(heap: ArrayBuffer, n: number, lr: number, wd: number, momentum: number, dampening: number, nesterov: boolean, hasBuf: boolean, larsEta: number, larsEps: number, p: number, g: number, buf: number, pOut: number, bufOut: number): void;
  adamUpdate(heap: ArrayBuffer, n: number, lr: number, wd: number, b1: number, b2: number, eps: number, t: number, decoupled: boolean, amsgrad: boolean, hasState: boolean, p: number, g: number, m: number, v: number, vmax: number, pOut: number, mOut: number, vOut: number, vmaxOut: number): void;
  /** x [rows, cols] -> column sums (leading) or row sums, in double. */
  reduceSum(heap: ArrayBuffer, rows: number, cols: number, leading: boolean, x: number, out: number): void;
  /** Measured sustained fp32 FMA rate of `threads` cores (a register-only loop, about `ms` ms). */
  fmaPeak(threads: number, ms: number): { gflops: number; width: 'avx512' | 'avx2' };
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; why: string };

export const INSTALL_HINT = 'apt-get install libdnnl-dev g++ make && npm run build:native';

/** The package root: the nearest directory above this file holding native/binding.gyp. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'native', 'binding.gyp'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('ssl package root (native/binding.gyp) not found');
    dir = up;
  }
  return dir;
}

let loaded: AddonLoad | null = null;

export function loadNativeAddon(): AddonLoad {
  if (loaded) return loaded;
  const root = packageRoot();
  // SSL_NATIVE_ADDON: an addon built elsewhere (a container's build stage), or a path that does not exist to turn native off.
  const path = process.env.SSL_NATIVE_ADDON || join(root, 'native', 'build', 'Release', 'ssl_native.node');
  if (process.env.SSL_NATIVE_ADDON && !existsSync(path)) return (loaded = { ok: false, why: `SSL_NATIVE_ADDON=${path} does not exist` });
  if (!existsSync(path)) {
    const whyFile = join(root, 'native', 'build', 'why-not-built.txt');
    const reason = existsSync(whyFile) ? readFileSync(whyFile, 'utf8').trim() : 'the native addon is not built';
    return (loaded = { ok: false, why: `${reason} (to build it: ${INSTALL_HINT})` });
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return (loaded = { ok: true, addon, path });
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    const hint = /libdnnl/.test(first) ? ' (the oneDNN runtime is missing: apt-get install libdnnl2)' : ` (rebuild it: ${INSTALL_HINT})`;
    return (loaded = { ok: false, why: `the native addon failed to load: ${first}${hint}` });
  }
}
