/**
 * TF.js kernels of the native engine. They are registered on the wasm backend, so tensors stay
 * where TF.js's wasm kernels keep them: the addon reads and writes the wasm heap in place (no copy),
 * and every op without a native kernel runs on wasm unchanged. `installNativeKernels` swaps them in,
 * `removeNativeKernels` restores wasm's own (tests run both in one process).
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import type { NativeAddon } from './addon.js';

/** The part of tfjs-backend-wasm's BackendWasm that the kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

export interface NativeKernelOptions {
  /** Let oneDNN choose blocked layouts inside a convolution (reordering in and out), else NHWC/HWIO throughout. */
  blocked: boolean;
  /** Convolutions and matmuls compute in bfloat16 (f32 accumulation and results). */
  bf16: boolean;
}

type Attrs = Record<string, unknown>;
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Attrs };
type NativeKernel = (args: KernelArgs, fallback: KernelFunc) => TensorInfo;

const saved = new Map<string, KernelConfig>();

/** Floating-point operations done by native kernels since the process started (benchmarks read it). */
export const nativeFlops = { total: 0 };
const convFlops = (p: Int32Array) => 2 * p[0] * p[7] * p[8] * p[6] * p[4] * p[5] * p[3];
let active: NativeKernelOptions | null = null;

/** Whether native kernels are installed now (the conv gradients route through them when so). */
export function nativeKernelsActive(): NativeKernelOptions | null {
  return active;
}

export function installNativeKernels(addon: NativeAddon, options: NativeKernelOptions): void {
  removeNativeKernels();
  const kernels: Record<string, NativeKernel> = {
    Conv2D: (a, fb) => conv2d(addon, options, a, fb),
    Conv2DBackpropInput: (a, fb) => conv2dBackpropInput(addon, options, a, fb),
    Conv2DBackpropFilter: (a, fb) => conv2dBackpropFilter(addon, options, a, fb),
    BatchMatMul: (a, fb) => batchMatMul(addon, options, a, fb),
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
  active = { ...options };
}

export function removeNativeKernels(): void {
  if (!active) return;
  for (const kernelName of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul']) {
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

const offset = (b: WasmBackend, t: TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
const heap = (b: WasmBackend) => b.wasm.HEAPU8.buffer as ArrayBuffer;

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

function isFloat(...ts: TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32');
}

function conv2d(addon: NativeAddon, o: NativeKernelOptions, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x, filter } = args.inputs;
  const params = isFloat(x, filter) ? convParams(x.shape, filter.shape, args.attrs, o) : null;
  if (!params) return fallback(args as never) as TensorInfo;
  const out = args.backend.makeOutput([params[0], params[7], params[8], params[6]], 'float32');
  if (params[7] * params[8] * params[0] === 0) return out;
  nativeFlops.total += convFlops(params);
  addon.conv2dForward(heap(args.backend), params, offset(args.backend, x), offset(args.backend, filter), offset(args.backend, out));
  return out;
}

function conv2dBackpropInput(addon: NativeAddon, o: NativeKernelOptions, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { dy, filter } = args.inputs;
  const inputShape = args.attrs.inputShape as number[];
  const params = isFloat(dy, filter) ? convParams(inputShape, filter.shape, args.attrs, o) : null;
  if (!params) return fallback(args as never) as TensorInfo;
  const out = args.backend.makeOutput([...inputShape], 'float32');
  nativeFlops.total += convFlops(params);
  addon.conv2dBackwardData(heap(args.backend), params, offset(args.backend, dy), offset(args.backend, filter), offset(args.backend, out));
  return out;
}

function conv2dBackpropFilter(addon: NativeAddon, o: NativeKernelOptions, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x, dy } = args.inputs;
  const filterShape = args.attrs.filterShape as number[];
  const params = isFloat(x, dy) ? convParams(x.shape, filterShape, args.attrs, o) : null;
  if (!params) return fallback(args as never) as TensorInfo;
  const out = args.backend.makeOutput([...filterShape], 'float32');
  nativeFlops.total += convFlops(params);
  addon.conv2dBackwardWeights(heap(args.backend), params, offset(args.backend, x), offset(args.backend, dy), offset(args.backend, out));
  return out;
}

function batchMatMul(addon: NativeAddon, o: NativeKernelOptions, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { a, b } = args.inputs;
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
  if (k === 0) return fallback(args as never) as TensorInfo;
  const outer = batchA >= batchB ? outerA : outerB;
  const out = args.backend.makeOutput([...outer, m, n], 'float32');
  if (m * n * batchA * batchB === 0) return out;
  const params = Int32Array.from([batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, o.bf16 ? 1 : 0]);
  nativeFlops.total += 2 * Math.max(batchA, batchB) * m * n * k;
  addon.batchMatMul(heap(args.backend), params, offset(args.backend, a), offset(args.backend, b), offset(args.backend, out));
  return out;
}

