/**
 * Kernels the wasm backend lacks or gets wrong, computed on the host (wasm tensors live in host
 * memory, so reading and writing them is a copy, no device sync):
 * - `MaxPoolGrad`: tfjs-backend-wasm 4.22 pads with 0 instead of -inf, so a window whose values are
 *   all negative next to the border loses its gradient (PyTorch and the cpu backend route it to the
 *   window's maximum).
 * - `UnsortedSegmentSum`: not registered for wasm; the gradient of `tf.gather` needs it.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';

interface HostBackend {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: ArrayLike<number>): TensorInfo;
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** dx of a max pool: each output's gradient goes to the first maximum of its window (padding never wins). */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const b = backend as HostBackend;
  const { dy, input } = inputs;
  const a = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const x = b.readSync(input.dataId) as Float32Array;
  const g = b.readSync(dy.dataId) as Float32Array;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = new Float32Array(size(input.shape));
  const best = new Float32Array(c);
  const bestAt = new Int32Array(c);
  for (let bi = 0; bi < n; bi++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let ky = 0; ky < fh; ky++) {
          const y = oy * sh - top + ky * dh;
          if (y < 0 || y >= h) continue;
          for (let kx = 0; kx < fw; kx++) {
            const xx = ox * sw - left + kx * dw;
            if (xx < 0 || xx >= w) continue;
            const base = ((bi * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > best[ch] || (bestAt[ch] < 0 && Number.isNaN(v))) {
                best[ch] = v;
                bestAt[ch] = base + ch;
              }
            }
          }
        }
        const gBase = ((bi * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) if (bestAt[ch] >= 0) out[bestAt[ch]] += g[gBase + ch];
      }
    }
  }
  return b.makeOutput([...input.shape], 'float32', undefined, out);
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...] for s in [0, numSegments) (ids outside are dropped). */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const b = backend as HostBackend;
  const { x, segmentIds } = inputs;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const data = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const inner = size(x.shape) / ids.length;
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0; j < inner; j++) out[s * inner + j] += data[i * inner + j];
  }
  return b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype, undefined, out);
}

/** Installs the host kernels for the wasm backend (replacing its MaxPoolGrad). */
export function registerHostKernels(): void {
  for (const [kernelName, kernelFunc] of [
    ['MaxPoolGrad', maxPoolGrad],
    ['UnsortedSegmentSum', unsortedSegmentSum],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as never });
  }
}
