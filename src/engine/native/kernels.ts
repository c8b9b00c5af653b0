/**
 * TF.js kernels of the native engine. They are registered on the wasm backend, so tensors stay
 * where TF.js's wasm kernels keep them: the addon reads and writes the wasm heap in place (no copy),
 * and every op without a native kernel runs on wasm unchanged. `installNativeKernels` swaps them in,
 * `removeNativeKernels` restores wasm's own (tests run both in one process).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import type { NativeAddon } from './addon.js';
import { LAYER_KERNEL_NAMES, layerKernels } from './layer-kernels.js';
import { OPTIMIZER_KERNEL_NAMES, optimizerKernels } from './optimizer-kernels.js';
import { copyable, copyOut, heap, isFloat, offset, size, stridesOf, type Attrs, type KernelArgs, type NativeKernel, type WasmBackend } from './heap.js';
import { INDEX_KERNEL_NAMES, indexKernels } from './index-kernels.js';
import { blockable, guardBlockedInputs, isBlocked, markBlocked, oneLayout, toNhwc } from './blocked-layout.js';

export interface NativeKernelOptions {
  /** Let oneDNN choose blocked layouts inside a convolution (reordering in and out), else NHWC/HWIO throughout. */
  blocked: boolean;
  /** Convolutions and matmuls compute in bfloat16 (f32 accumulation and results). */
  bf16: boolean;
  /**
   * With `blocked`: activations stay in oneDNN's nChw16c layout from a convolution through
   * BatchNorm, ReLU and Add to the next convolution (blocked-layout.ts); false reorders in and out of
   * NHWC inside every convolution pass. Default true; SSL_NATIVE_KEEP_BLOCKED=0 turns it off.
   */
  keepBlocked?: boolean;
}

/** Kernels that take nChw16c activations (blocked-layout.ts); every other kernel sees NHWC. */
const LAYOUT_AWARE = new Set(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'SslBatchNormForward', 'SslBatchNormBackward', 'SslBatchNormApply', 'Relu', 'SslReluBackward', 'Add', 'Identity']);


const saved = new Map<string, KernelConfig>();
/** Kernels the native engine provides; the Ssl* ones are its own (BatchNorm and LayerNorm training passes, ReLU's, softmax's and GELU's gradients, GELU). */
export const NATIVE_KERNEL_NAMES = [
  'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul', 'Add', 'Sub', 'Multiply', 'Relu', 'Identity', 'Transpose', 'Slice', 'Unpack', 'Sum',
  'SslReluBackward', 'SslBatchNormForward', 'SslBatchNormBackward', 'SslBatchNormStats', 'SslBatchNormStatsBackward', 'SslBatchNormApply', 'SslBatchNormApplyBackward', ...LAYER_KERNEL_NAMES, ...OPTIMIZER_KERNEL_NAMES, ...INDEX_KERNEL_NAMES,
];

/** Floating-point operations done by native kernels since the process started (benchmarks read it). */
export const nativeFlops = { total: 0 };
const convFlops = (p: Int32Array) => 2 * p[0] * p[7] * p[8] * p[6] * p[4] * p[5] * p[3];
let active: NativeKernelOptions | null = null;

/** Whether native kernels are installed now (the conv gradients route through them when so). */
export function nativeKernelsActive(): NativeKernelOptions | null {
  return active;
}

/** Whether x can go through the native engine's own (Ssl*) kernels now: installed, on wasm, float32, not empty. */
export function nativeKernelsTake(x: { dtype: string; size: number }): boolean {
  return active !== null && tf.getBackend() === 'wasm' && x.dtype === 'float32' && x.size > 0;
}

export function installNativeKernels(addon: NativeAddon, options: NativeKernelOptions): void {
  removeNativeKernels();
  const kernels: Record<string, NativeKernel> = {
    Conv2D: (a, fb) => convPass(addon, options, 'Conv2D', a, fb),
    Conv2DBackpropInput: (a, fb) => convPass(addon, options, 'Conv2DBackpropInput', a, fb),
    Conv2DBackpropFilter: (a, fb) => convPass(addon, options, 'Conv2DBackpropFilter', a, fb),
    BatchMatMul: (a, fb) => batchMatMul(addon, options, a, fb),
    _FusedMatMul: (a, fb) => batchMatMul(addon, options, a, fb),
    Add: (a, fb) => binary(addon, 0, a, fb),
    Sub: (a, fb) => binary(addon, 1, a, fb),
    Multiply: (a, fb) => binary(addon, 2, a, fb),
    Relu: (a, fb) => relu(addon, a, fb),
    Identity: (a) => identity(a),
    Transpose: (a, fb) => transpose(addon, a, fb),
    Slice: (a, fb) => slice(addon, a, fb),
    Unpack: (a, fb) => unpack(addon, a, fb),
    Sum: (a, fb) => sum(addon, a, fb),
    SslReluBackward: (a) => reluBackward(addon, a),
    SslBatchNormForward: (a) => batchNormForward(addon, a),
    SslBatchNormBackward: (a) => batchNormBackward(addon, a),
    SslBatchNormStats: (a) => batchNormStats(addon, a),
    SslBatchNormStatsBackward: (a) => batchNormStatsBackward(addon, a),
    SslBatchNormApply: (a) => batchNormApply(addon, a),
    SslBatchNormApplyBackward: (a) => batchNormApplyBackward(addon, a),
    ...layerKernels(addon),
    ...optimizerKernels(addon),
    ...indexKernels(addon),
  };
  for (const [kernelName, kernel] of Object.entries(kernels)) {
    const original = tf.getKernel(kernelName, 'wasm');
    if (original) {
      saved.set(kernelName, original);
      tf.unregisterKernel(kernelName, 'wasm');
    }
    const fallback = (original?.kernelFunc ?? missing(kernelName)) as KernelFunc;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => kernel(args, fallback)) as unknown as KernelFunc });
  }
  active = { ...options, keepBlocked: options.blocked && options.keepBlocked !== false };
  if (active.keepBlocked) guardBlockedInputs(addon, LAYOUT_AWARE, saved.values());
}

export function removeNativeKernels(): void {
  if (!active) return;
  for (const kernelName of NATIVE_KERNEL_NAMES) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    const original = saved.get(kernelName);
    if (original) tf.registerKernel(original);
  }
  saved.clear();
  active = null;
}

function missing(kernelName: string): KernelFunc {
  return () => {
    throw new Error(`${kernelName}: no wasm kernel to fall back to`);
  };
}


/** oneDNN parameter block of native/src/conv.cc, from TF.js's conv geometry. */
function convParams(xShape: number[], filterShape: number[], attrs: Attrs, o: NativeKernelOptions): Int32Array | null {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC' && attrs.dataFormat !== 'channelsLast') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const p = info.padInfo;
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    p.top, p.left, p.bottom, p.right, o.blocked ? 1 : 0, o.bf16 ? 1 : 0,
  ]);
}


/** Which convolution pass a kernel is: its two inputs, the conv's input and filter shapes, and its output shape. */
const CONV_PASSES = {
  Conv2D: { inputs: ['x', 'filter'], shapes: (i: Record<string, TensorInfo>) => [i.x.shape, i.filter.shape], run: 'conv2dForward' },
  Conv2DBackpropInput: { inputs: ['dy', 'filter'], shapes: (i: Record<string, TensorInfo>, a: Attrs) => [a.inputShape as number[], i.filter.shape], run: 'conv2dBackwardData' },
  Conv2DBackpropFilter: { inputs: ['x', 'dy'], shapes: (i: Record<string, TensorInfo>, a: Attrs) => [i.x.shape, a.filterShape as number[]], run: 'conv2dBackwardWeights' },
} as const;

function convPass(addon: NativeAddon, o: NativeKernelOptions, kernel: keyof typeof CONV_PASSES, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const pass = CONV_PASSES[kernel];
  const [first, second] = pass.inputs.map((name) => args.inputs[name]);
  const [xShape, filterShape] = pass.shapes(args.inputs, args.attrs);
  const params = isFloat(first, second) ? convParams(xShape, filterShape, args.attrs, o) : null;
  const b = args.backend;
  if (!params) {
    for (const t of [first, second]) toNhwc(b, t);
    return fallback(args as never) as TensorInfo;
  }
  const outShape = kernel === 'Conv2D' ? [params[0], params[7], params[8], params[6]] : kernel === 'Conv2DBackpropInput' ? xShape : filterShape;
  const out = b.makeOutput([...outShape], 'float32');
  if (size(outShape) === 0 || params[0] * params[7] * params[8] === 0) return out;
  nativeFlops.total += convFlops(params);
  const mayBlock = active?.keepBlocked === true && kernel !== 'Conv2DBackpropFilter' && blockable(outShape);
  const layouts = (isBlocked(first) ? 1 : 0) | (isBlocked(second) ? 2 : 0) | (mayBlock ? 4 : 0);
  if (addon[pass.run](heap(b), params, offset(b, first), offset(b, second), offset(b, out), layouts)) markBlocked(out);
  return out;
}

/** BatchMatMul, and _FusedMatMul (Linear's matmul + bias) when it has no activation. */
function batchMatMul(addon: NativeAddon, o: NativeKernelOptions, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const activation = args.attrs.activation as string | undefined;
  if (preluActivationWeights || (activation !== undefined && activation !== 'linear')) return fallback(args as never) as TensorInfo;
  const transposeA = Boolean(args.attrs.transposeA);
  const transposeB = Boolean(args.attrs.transposeB);
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((s, d) => s * d, 1);
  const batchB = outerB.reduce((s, d) => s * d, 1);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!isFloat(a, b) || a.shape.length < 2 || b.shape.length < 2 || !(sameOuter || batchA === 1 || batchB === 1)) {
    return fallback(args as never) as TensorInfo;
  }
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const m = transposeA ? ca : ra;
  const k = transposeA ? ra : ca;
  const n = transposeB ? rb : cb;
  if ((transposeB ? cb : rb) !== k) return fallback(args as never) as TensorInfo; // let tfjs word the error
  if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== n)) return fallback(args as never) as TensorInfo;
  if (k === 0) return fallback(args as never) as TensorInfo;
  const outer = batchA >= batchB ? outerA : outerB;
  const out = args.backend.makeOutput([...outer, m, n], 'float32');
  if (m * n * batchA * batchB === 0) return out;
  const params = Int32Array.from([batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, o.bf16 ? 1 : 0, bias ? 1 : 0]);
  nativeFlops.total += 2 * Math.max(batchA, batchB) * m * n * k;
  const biasOffset = bias ? offset(args.backend, bias) : 0;
  addon.batchMatMul(heap(args.backend), params, offset(args.backend, a), offset(args.backend, b), offset(args.backend, out), biasOffset);
  return out;
}



/** Elements after which `small` repeats inside `big` under TF.js broadcasting: size(small) when its shape (less leading 1s) is a suffix of big's, else null. */
function period(big: number[], small: number[]): number | null {
  const s = [...small];
  while (s.length && s[0] === 1) s.shift();
  if (s.length > big.length) return null;
  const tail = big.slice(big.length - s.length);
  return s.every((d, i) => d === tail[i]) ? size(s) : null;
}

function binary(addon: NativeAddon, op: 0 | 1 | 2, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { a, b } = args.inputs;
  if (!isFloat(a, b)) return fallback(args as never) as TensorInfo;
  const big = size(a.shape) >= size(b.shape) ? a : b;
  const small = big === a ? b : a;
  const p = big.shape.length >= small.shape.length ? period(big.shape, small.shape) : null;
  if (p === null || size(big.shape) === 0) return fallback(args as never) as TensorInfo;
  const n = size(big.shape);
  // Same-shape operands keep one layout (elementwise works on either); broadcasting needs NHWC.
  const keep = p === n && size(small.shape) === n ? oneLayout(args.backend, [a, b]) : (toNhwc(args.backend, a), toNhwc(args.backend, b), false);
  const out = args.backend.makeOutput([...big.shape], 'float32');
  if (keep) markBlocked(out);
  addon.binary(heap(args.backend), op, n, big === a ? n : p, big === a ? p : n, offset(args.backend, a), offset(args.backend, b), offset(args.backend, out));
  return out;
}

function relu(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  if (!isFloat(x)) return fallback(args as never) as TensorInfo;
  const out = args.backend.makeOutput([...x.shape], 'float32');
  if (isBlocked(x)) markBlocked(out);
  if (size(x.shape) > 0) addon.relu(heap(args.backend), size(x.shape), offset(args.backend, x), offset(args.backend, out));
  return out;
}

function reluBackward(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { dy, x } = args.inputs;
  const keep = oneLayout(args.backend, [x, dy]);
  const out = args.backend.makeOutput([...x.shape], 'float32');
  if (keep) markBlocked(out);
  if (size(x.shape) > 0) addon.reluBackward(heap(args.backend), size(x.shape), offset(args.backend, dy), offset(args.backend, x), offset(args.backend, out));
  return out;
}

/** H·W of an activation in nChw16c (the BatchNorm kernels' `hw` argument), 0 for NHWC. */
const blockedPixels = (x: TensorInfo) => (isBlocked(x) ? x.shape[1] * x.shape[2] : 0);

/** x `[..., C]` -> [y, mean, variance (biased), rstd]. */
function batchNormForward(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const y = b.makeOutput([...x.shape], 'float32');
  const [mean, variance, rstd] = [0, 1, 2].map(() => b.makeOutput([c], 'float32'));
  const hw = blockedPixels(x);
  if (hw) markBlocked(y);
  addon.batchNormForward(heap(b), size(x.shape) / c, c, args.attrs.eps as number, offset(b, x), offset(b, gamma), offset(b, beta), offset(b, y), offset(b, mean), offset(b, variance), offset(b, rstd), hw);
  return [y, mean, variance, rstd];
}

/** -> [dx, dgamma, dbeta]. */
function batchNormBackward(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { dy, x, mean, rstd, gamma } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const dx = b.makeOutput([...x.shape], 'float32');
  const [dgamma, dbeta] = [0, 1].map(() => b.makeOutput([c], 'float32'));
  const hw = oneLayout(b, [x, dy]) ? blockedPixels(x) : 0;
  if (hw) markBlocked(dx);
  addon.batchNormBackward(heap(b), size(x.shape) / c, c, offset(b, dy), offset(b, x), offset(b, mean), offset(b, rstd), offset(b, gamma), offset(b, dx), offset(b, dgamma), offset(b, dbeta), hw);
  return [dx, dgamma, dbeta];
}

/** SyncBN: x `[..., C]` -> [Σx, Σx²] per channel (sums in double). */
function batchNormStats(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { x } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const [sum, sumSq] = [0, 1].map(() => b.makeOutput([c], 'float32'));
  addon.batchNormStats(heap(b), size(x.shape) / c, c, offset(b, x), offset(b, sum), offset(b, sumSq));
  return [sum, sumSq];
}

/** {dSum, dSumSq, x} -> dx = dSum + 2·x·dSumSq. */
function batchNormStatsBackward(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { dSum, dSumSq, x } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const dx = b.makeOutput([...x.shape], 'float32');
  addon.batchNormStatsBackward(heap(b), size(x.shape) / c, c, offset(b, dSum), offset(b, dSumSq), offset(b, x), offset(b, dx));
  return dx;
}

/**
 * {x, mean, variance, gamma, beta}, eps -> y with the given statistics (SyncBN's global ones, or an eval-mode
 * BatchNorm's running ones); an nChw16c x gives an nChw16c y, so conv -> BatchNorm -> ReLU -> conv runs without reorders.
 */
function batchNormApply(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { x, mean, variance, gamma, beta } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  if (!addon.batchNormApplyBlocked) toNhwc(b, x); // an addon built before reads NHWC only: npm run build:native
  const y = b.makeOutput([...x.shape], 'float32');
  const hw = blockedPixels(x);
  if (hw) markBlocked(y);
  addon.batchNormApply(heap(b), size(x.shape) / c, c, args.attrs.eps as number, offset(b, x), offset(b, mean), offset(b, variance), offset(b, gamma), offset(b, beta), offset(b, y), hw);
  return y;
}

/** {dy, x, mean, variance, gamma}, eps -> [dx, dmean, dvariance, dgamma, dbeta]. */
function batchNormApplyBackward(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { dy, x, mean, variance, gamma } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const dx = b.makeOutput([...x.shape], 'float32');
  const [dmean, dvariance, dgamma, dbeta] = [0, 1, 2, 3].map(() => b.makeOutput([c], 'float32'));
  addon.batchNormApplyBackward(heap(b), size(x.shape) / c, c, args.attrs.eps as number, offset(b, dy), offset(b, x), offset(b, mean), offset(b, variance), offset(b, gamma), offset(b, dx), offset(b, dmean), offset(b, dvariance), offset(b, dgamma), offset(b, dbeta));
  return [dx, dmean, dvariance, dgamma, dbeta];
}

/** Identity shares the input's memory (as tfjs's cpu backend does) instead of copying it (wasm's): tensors are immutable. */
function identity(args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function transpose(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  const perm = args.attrs.perm as number[];
  if (!copyable(x)) return fallback(args as never) as TensorInfo;
  const st = stridesOf(x.shape);
  return copyOut(addon, args.backend, x, perm.map((p) => x.shape[p]), perm.map((p) => st[p]), 0);
}

function slice(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  if (!copyable(x)) return fallback(args as never) as TensorInfo;
  const [begin, sz] = tf.slice_util.parseSliceParams(x as never, args.attrs.begin as number[], args.attrs.size as number[]);
  const st = stridesOf(x.shape);
  return copyOut(addon, args.backend, x, sz, st, begin.reduce((a, v, d) => a + v * st[d], 0));
}

function unpack(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo[] {
  const { value: x } = args.inputs;
  const axis = ((args.attrs.axis as number) + x.shape.length) % x.shape.length;
  if (!copyable(x) || x.shape.length < 2) return fallback(args as never) as unknown as TensorInfo[];
  const st = stridesOf(x.shape);
  const shape = x.shape.filter((_, d) => d !== axis);
  const strides = st.filter((_, d) => d !== axis);
  return Array.from({ length: x.shape[axis] }, (_, i) => copyOut(addon, args.backend, x, shape, strides, i * st[axis]));
}

/** Sum over a leading or a trailing block of axes (bias gradients, row sums), float32; other reductions stay wasm's. */
function sum(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  const leading = axes[0] === 0;
  if (!isFloat(x) || rank === 0 || axes.length === 0 || !contiguous || (!leading && axes[axes.length - 1] !== rank - 1) || size(x.shape) === 0) {
    return fallback(args as never) as TensorInfo;
  }
  const kept = x.shape.filter((_, d) => !axes.includes(d));
  const outShape = args.attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
  const cols = leading ? size(kept) : size(axes.map((a) => x.shape[a]));
  const rows = size(x.shape) / cols;
  const b = args.backend;
  const out = b.makeOutput(outShape, 'float32');
  addon.reduceSum(heap(b), rows, cols, leading, offset(b, x), offset(b, out));
  return out;
}
