/**
 * Activations kept in oneDNN's blocked layout (nChw16c) between the native kernels that take it, so
 * a conv → BatchNorm → ReLU → conv chain runs without reordering 16 MB activations in and out of
 * every convolution: a convolution writes its output blocked when its primitive wants that layout
 * anyway, BatchNorm, ReLU, their gradients and Add keep it, and the next convolution (or gradient
 * pass) reads it as it is. The layout belongs to the tensor's data (its dataId) and is recorded
 * here. Every other kernel, and every read of the data (dataSync, data), first converts the tensor
 * back to NHWC in place, so nothing outside these kernels ever sees the blocked layout.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import type { NativeAddon } from './addon.js';
import { heap, offset, type KernelArgs, type WasmBackend } from './heap.js';

/** dataId -> its NHWC shape, for tensors whose data is in nChw16c now. */
const blocked = new WeakMap<object, number[]>();
const guarded = new WeakSet<object>();
let addon: NativeAddon | null = null;

/** Whether an activation of this shape can live in nChw16c without padding: 4-D, channels a multiple of 16. */
export const blockable = (shape: number[]) => shape.length === 4 && shape[3] >= 16 && shape[3] % 16 === 0 && shape[0] * shape[1] * shape[2] > 0;

export const isBlocked = (t: TensorInfo) => blocked.has(t.dataId);

export function markBlocked(t: TensorInfo): void {
  blocked.set(t.dataId, [...t.shape]);
}

/** Converts t's data in place to NHWC (a no-op when it is NHWC already). */
export function toNhwc(b: WasmBackend, t: TensorInfo): void {
  const shape = blocked.get(t.dataId);
  if (!shape) return;
  addon!.relayout(heap(b), shape[0], shape[1], shape[2], shape[3], offset(b, t), false);
  blocked.delete(t.dataId);
}

/** Converts t's data in place to nChw16c (t must be blockable). */
export function toBlocked(b: WasmBackend, t: TensorInfo): void {
  if (blocked.has(t.dataId)) return;
  addon!.relayout(heap(b), t.shape[0], t.shape[1], t.shape[2], t.shape[3], offset(b, t), true);
  markBlocked(t);
}

/**
 * Brings the full-size operands of an elementwise kernel to one layout: nChw16c when the first is
 * blocked and all are blockable, else NHWC. Returns whether the result should be marked blocked.
 */
export function oneLayout(b: WasmBackend, operands: TensorInfo[]): boolean {
  const wantBlocked = isBlocked(operands[0]) && operands.every((t) => blockable(t.shape));
  for (const t of operands) wantBlocked ? toBlocked(b, t) : toNhwc(b, t);
  return wantBlocked;
}

function inputsToNhwc(kernelName: string, args: KernelArgs): void {
  // A reshape to the same shape (Add's gradient does one) keeps the data and its layout.
  if (kernelName === 'Reshape' && sameShape(args.inputs.x?.shape, args.attrs.shape as number[])) return;
  for (const t of Object.values(args.inputs ?? {})) if (t && blocked.has(t.dataId)) toNhwc(args.backend, t);
}

const sameShape = (a: number[] | undefined, b: number[] | undefined) => !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Makes every wasm kernel except `aware` (and the wasm kernels in `originals`, which the native ones
 * replaced and fall back to) convert blocked inputs to NHWC before it runs, and the wasm backend's
 * reads return NHWC data. Idempotent; it stays in place after the native kernels are removed, so a
 * blocked tensor that outlives them is still read correctly.
 */
export function guardBlockedInputs(theAddon: NativeAddon, aware: Set<string>, originals: Iterable<KernelConfig>): void {
  addon = theAddon;
  const configs = [...tf.getKernelsForBackend('wasm').filter((k) => !aware.has(k.kernelName)), ...originals];
  for (const k of configs) {
    if (guarded.has(k)) continue;
    guarded.add(k);
    const run = k.kernelFunc;
    (k as { kernelFunc: KernelFunc }).kernelFunc = ((args: KernelArgs) => {
      inputsToNhwc(k.kernelName, args);
      return run(args as never);
    }) as unknown as KernelFunc;
  }
  const backend = tf.findBackend('wasm') as unknown as (WasmBackend & { readSync(id: object): unknown; read(id: object): Promise<unknown>; dataIdMap: { get(id: object): { shape: number[] } } }) | null;
  if (!backend || guarded.has(backend)) return;
  guarded.add(backend);
  const readSync = backend.readSync.bind(backend);
  const read = backend.read.bind(backend);
  const unblock = (dataId: object) => {
    const shape = blocked.get(dataId);
    if (shape) toNhwc(backend, { dataId, shape, dtype: 'float32' });
  };
  backend.readSync = (dataId: object) => {
    unblock(dataId);
    return readSync(dataId);
  };
  backend.read = (dataId: object) => {
    unblock(dataId);
    return read(dataId);
  };
}
