/**
 * What the native kernels share: the part of tfjs-backend-wasm's backend they use, and where a
 * tensor lives on the wasm heap (the addon reads and writes it there in place).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

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
