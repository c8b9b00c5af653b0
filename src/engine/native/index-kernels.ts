/**
 * The token-shuffling kernels of masked image modeling, on the wasm heap: Tile and SplitV as strided
 * copies (a repeated axis is a stride of 0), GatherV2 as row copies and UnsortedSegmentSum (gather's
 * gradient) as row sums. wasm's Tile, SplitV and GatherV2 and the JavaScript UnsortedSegmentSum took
 * 7-13 ms a call on MAE's `[32, 64, 192]` token tensors (100 ms of a 730 ms ViT-tiny MAE step); these
 * take well under 1 ms. Int32 tensors are copied too (bit for bit); other dtypes go to wasm's kernels.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import type { NativeAddon } from './addon.js';
import { copyable, copyOut, heap, offset, size, stridesOf, type KernelArgs, type NativeKernel } from './heap.js';

export const INDEX_KERNEL_NAMES = ['Tile', 'SplitV', 'GatherV2', 'UnsortedSegmentSum'];

function tile(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  const reps = args.attrs.reps as number[];
  if (!copyable(x) || size(x.shape) === 0 || reps.length !== x.shape.length || reps.some((r) => r < 1)) return fallback(args as never) as TensorInfo;
  // out viewed as [r0, s0, r1, s1, ...]: x's strides, 0 on the repetition axes; axes of 1 dropped
  const st = stridesOf(x.shape);
  const shape: number[] = [];
  const strides: number[] = [];
  x.shape.forEach((s, d) => {
    if (reps[d] > 1) shape.push(reps[d]), strides.push(0);
    if (s > 1) shape.push(s), strides.push(st[d]);
  });
  if (shape.length > 8) return fallback(args as never) as TensorInfo;
  if (!shape.length) shape.push(1), strides.push(1);
  return copyOut(addon, args.backend, x, shape, strides, 0, x.shape.map((s, d) => s * reps[d]));
}

function splitV(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo[] {
  const { x } = args.inputs;
  if (!copyable(x)) return fallback(args as never) as unknown as TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as never, args.attrs.numOrSizeSplits as number[], axis);
  const st = stridesOf(x.shape);
  let begin = 0;
  return sizes.map((n) => {
    const shape = x.shape.map((s, d) => (d === axis ? n : s));
    const out = copyOut(addon, args.backend, x, shape, st, begin * st[axis]);
    begin += n;
    return out;
  });
}

/** [outer, axisDim, inner] view of x around `axis`. */
function around(shape: number[], axis: number): [number, number, number] {
  return [size(shape.slice(0, axis)), shape[axis], size(shape.slice(axis + 1))];
}

function gather(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x, indices } = args.inputs;
  const b = args.backend;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  if (!copyable(x) || indices.dtype !== 'int32' || ((args.attrs.batchDims as number) ?? 0) !== 0) return fallback(args as never) as TensorInfo;
  const [outer, axisDim, inner] = around(x.shape, axis);
  const k = size(indices.shape);
  const ids = new Int32Array(heap(b), offset(b, indices), k);
  for (let i = 0; i < k; i++) if (ids[i] < 0 || ids[i] >= axisDim) return fallback(args as never) as TensorInfo; // wasm's error
  const out = b.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype as 'float32');
  const words = new Uint32Array(heap(b)); // after makeOutput: the heap may have grown
  const at = new Int32Array(heap(b), offset(b, indices), k);
  const src = offset(b, x) / 4;
  const dst = offset(b, out) / 4;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < k; i++) {
      const from = src + (o * axisDim + at[i]) * inner;
      words.copyWithin(dst + (o * k + i) * inner, from, from + inner);
    }
  }
  return out;
}

/** out[s] = Σ_{i: ids[i] = s} x[i] in i's order (as the host kernel it replaces); ids outside [0, numSegments) dropped. */
function unsortedSegmentSum(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x, segmentIds } = args.inputs;
  if (x.dtype !== 'float32' || segmentIds.dtype !== 'int32') return fallback(args as never) as TensorInfo;
  const b = args.backend;
  const numSegments = args.attrs.numSegments as number;
  const k = size(segmentIds.shape);
  const inner = k ? size(x.shape) / k : 0;
  const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  const o = new Float32Array(heap(b), offset(b, out), numSegments * inner);
  o.fill(0);
  const xs = new Float32Array(heap(b), offset(b, x), k * inner);
  const ids = new Int32Array(heap(b), offset(b, segmentIds), k);
  for (let i = 0; i < k; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0, to = s * inner, from = i * inner; j < inner; j++) o[to + j] += xs[from + j];
  }
  return out;
}

export function indexKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    Tile: (a, fb) => tile(addon, a, fb),
    SplitV: (a, fb) => splitV(addon, a, fb),
    GatherV2: (a, fb) => gather(a, fb),
    UnsortedSegmentSum: (a, fb) => unsortedSegmentSum(a, fb),
  };
}
