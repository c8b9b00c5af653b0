/**
 * What the native kernels share: the part of tfjs-backend-wasm's backend they use, and where a
 * tensor lives on the wasm heap (the addon reads and writes it there in place).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

/** The part of tfjs-backend-wasm's BackendWasm that the kernels use. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  incRef(dataId: object): void;
}

export type Attrs = Record<string, unknown>;
export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Attrs };
/** A native kernel; `fallback` is the wasm kernel it replaces, for the cases it does not take. */
export type NativeKernel = (args: KernelArgs, fallback: KernelFunc) => TensorInfo | TensorInfo[];

/** Byte offset of a tensor's data in the wasm heap. */
export const offset = (b: WasmBackend, t: TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
export const heap = (b: WasmBackend) => b.wasm.HEAPU8.buffer as ArrayBuffer;
export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
export const isFloat = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

export const copyable = (t: TensorInfo) => (t.dtype === 'float32' || t.dtype === 'int32') && t.shape.length >= 1 && t.shape.length <= 8;

export function stridesOf(shape: number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    st[d] = s;
    s *= shape[d];
  }
  return st;
}

/** A strided copy of x into a new tensor of `shape` (given the shape `outShape`), reading x at element `base` with `strides`. */
export function copyOut(addon: NativeAddon, b: WasmBackend, x: TensorInfo, shape: number[], strides: number[], base: number, outShape = shape): TensorInfo {
  const out = b.makeOutput(outShape, x.dtype as 'float32');
  if (size(shape) > 0) addon.stridedCopy(heap(b), Int32Array.from(shape.length ? shape : [1]), Int32Array.from(strides.length ? strides : [1]), offset(b, x) + 4 * base, size(x.shape), offset(b, out));
  return out;
}
