/**
 * Native kernels for the layers around the convolutions and matmuls: max/avg pooling and their
 * gradients and softmax (replacing wasm's single-threaded kernels of the same names), and the
 * native engine's own kernels for LayerNorm's training passes, softmax's gradient and GELU
 * (`ops/layer-norm-train.ts`, `layers/activation.ts` and `native/gradients.ts` call them).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import type { NativeAddon } from './addon.js';
import { heap, isFloat, offset, size, type KernelArgs, type NativeKernel } from './heap.js';

export const LAYER_KERNEL_NAMES = ['MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad', 'Softmax', 'SslSoftmaxBackward', 'SslLayerNormForward', 'SslLayerNormBackward', 'SslGelu', 'SslGeluBackward'];

export function layerKernels(addon: NativeAddon): Record<string, NativeKernel> {
  return {
    MaxPool: (a, fb) => poolForward(addon, a, fb, false),
    AvgPool: (a, fb) => poolForward(addon, a, fb, true),
    MaxPoolGrad: (a, fb) => poolBackward(addon, a, fb, false),
    AvgPoolGrad: (a, fb) => poolBackward(addon, a, fb, true),
    Softmax: (a, fb) => softmax(addon, a, fb),
    SslSoftmaxBackward: (a) => softmaxBackward(addon, a),
    SslLayerNormForward: (a) => layerNormForward(addon, a),
    SslLayerNormBackward: (a) => layerNormBackward(addon, a),
    SslGelu: (a) => gelu(addon, a),
    SslGeluBackward: (a) => geluBackward(addon, a),
  };
}

/** Parameter block of native/src/pooling.cc, or null for what oneDNN does not take (padding ≥ window, dilation). */
function poolParams(xShape: number[], attrs: KernelArgs['attrs'], avg: boolean): Int32Array | null {
  if (xShape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as number | [number, number],
    attrs.strides as number | [number, number],
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  // oneDNN's right/bottom padding is what makes (in + pads − window) / stride + 1 = out exactly.
  const bottom = Math.max(0, (oh - 1) * sh + kh - h - top);
  const right = Math.max(0, (ow - 1) * sw + kw - w - left);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || Math.max(top, bottom) >= kh || Math.max(left, right) >= kw || oh < 1 || ow < 1) return null;
  return Int32Array.from([info.batchSize, h, w, info.inChannels, kh, kw, oh, ow, sh, sw, top, left, bottom, right, avg ? 1 : 0]);
}

function poolForward(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc, avg: boolean): TensorInfo {
  const { x } = args.inputs;
  const params = isFloat(x) && size(x.shape) > 0 ? poolParams(x.shape, args.attrs, avg) : null;
  if (!params) return fallback(args as never) as TensorInfo;
  const b = args.backend;
  const y = b.makeOutput([params[0], params[6], params[7], params[3]], 'float32');
  addon.pool2dForward(heap(b), params, offset(b, x), offset(b, y));
  return y;
}

/** MaxPoolGrad {dy, input, output}, AvgPoolGrad {dy, input} -> dx. */
function poolBackward(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc, avg: boolean): TensorInfo {
  const { dy, input } = args.inputs;
  const params = isFloat(dy, input) && size(input.shape) > 0 ? poolParams(input.shape, args.attrs, avg) : null;
  if (!params) return fallback(args as never) as TensorInfo;
  const b = args.backend;
  const dx = b.makeOutput([...input.shape], 'float32');
  addon.pool2dBackward(heap(b), params, offset(b, dy), offset(b, input), offset(b, dx));
  return dx;
}

/** Rows and row length of a softmax over the last axis; null for another axis. */
function lastAxisRows(shape: number[], dim: unknown): [number, number] | null {
  const rank = shape.length;
  if (rank < 1 || (dim !== undefined && dim !== -1 && dim !== rank - 1)) return null;
  const c = shape[rank - 1];
  return c > 0 ? [size(shape) / c, c] : null;
}

function softmax(addon: NativeAddon, args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { logits } = args.inputs;
  const rc = isFloat(logits) ? lastAxisRows(logits.shape, args.attrs.dim) : null;
  if (!rc || rc[0] === 0) return fallback(args as never) as TensorInfo;
  const b = args.backend;
  const y = b.makeOutput([...logits.shape], 'float32');
  addon.softmaxForward(heap(b), rc[0], rc[1], offset(b, logits), offset(b, y));
  return y;
}

/** {dy, y} -> dx = y·(dy − Σ dy·y) over the last axis. */
function softmaxBackward(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { dy, y } = args.inputs;
  const b = args.backend;
  const dx = b.makeOutput([...y.shape], 'float32');
  const [rows, c] = lastAxisRows(y.shape, -1)!;
  if (rows > 0) addon.softmaxBackward(heap(b), rows, c, offset(b, dy), offset(b, y), offset(b, dx));
  return dx;
}

/** {x [..., C], gamma, beta}, eps -> [y, mean [rows], variance [rows]]. */
function layerNormForward(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const rows = size(x.shape) / c;
  const b = args.backend;
  const y = b.makeOutput([...x.shape], 'float32');
  const [mean, variance] = [0, 1].map(() => b.makeOutput([rows], 'float32'));
  addon.layerNormForward(heap(b), rows, c, args.attrs.eps as number, offset(b, x), offset(b, gamma), offset(b, beta), offset(b, y), offset(b, mean), offset(b, variance));
  return [y, mean, variance];
}

/** {dy, x, mean, variance, gamma}, eps -> [dx, dgamma, dbeta]. */
function layerNormBackward(addon: NativeAddon, args: KernelArgs): TensorInfo[] {
  const { dy, x, mean, variance, gamma } = args.inputs;
  const c = x.shape[x.shape.length - 1];
  const b = args.backend;
  const dx = b.makeOutput([...x.shape], 'float32');
  const [dgamma, dbeta] = [0, 1].map(() => b.makeOutput([c], 'float32'));
  addon.layerNormBackward(heap(b), size(x.shape) / c, c, args.attrs.eps as number, offset(b, dy), offset(b, x), offset(b, mean), offset(b, variance), offset(b, gamma), offset(b, dx), offset(b, dgamma), offset(b, dbeta));
  return [dx, dgamma, dbeta];
}

/** {x}, {approximate: 'none' | 'tanh'} -> GELU(x). */
function gelu(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  const b = args.backend;
  const y = b.makeOutput([...x.shape], 'float32');
  if (size(x.shape) > 0) addon.gelu(heap(b), size(x.shape), args.attrs.approximate === 'tanh', offset(b, x), offset(b, y));
  return y;
}

/** {dy, x} -> dx = dy · GELU'(x). */
function geluBackward(addon: NativeAddon, args: KernelArgs): TensorInfo {
  const { dy, x } = args.inputs;
  const b = args.backend;
  const dx = b.makeOutput([...x.shape], 'float32');
  if (size(x.shape) > 0) addon.geluBackward(heap(b), size(x.shape), args.attrs.approximate === 'tanh', offset(b, dy), offset(b, x), offset(b, dx));
  return dx;
}
