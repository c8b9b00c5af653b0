/**
 * Gradient routing so that every op the models need trains fast on wasm. tfjs gradients are
 * registered per kernel (not per backend), so each override checks the active backend and falls
 * back to tfjs's own gradient (native backprop kernels) on the others.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import {
  canUseForwardConvGrads,
  convFilterGrad,
  convGeometry,
  convInputGrad,
  depthwiseFilterGrad,
  depthwiseInputGrad,
  type ConvGeometry,
} from './conv-grads.js';
import { registerHostKernels } from './host-kernels.js';
import { nativeKernelsActive } from '../native/kernels.js';
import { registerNativeGradients } from '../native/gradients.js';
import { registerTileGradient } from '../gradients/tile.js';

type GradConfig = ReturnType<typeof tf.getGradient>;
type Attrs = Record<string, unknown>;

/** Backends that lack fast conv backprop kernels; the forward-conv formulation is used there. */
const FORWARD_CONV_GRAD_BACKENDS = new Set(['wasm']);

let registered = false;

/**
 * Installs the gradient overrides (idempotent). `again` re-installs them after another package
 * (the @tensorflow/tfjs bundle inside tfjs-node) re-registered tfjs's own gradients.
 */
export function registerWasmKernels(again = false): void {
  if (registered && !again) return;
  registered = true;
  registerHostKernels();
  registerNativeGradients();
  registerTileGradient(); // every backend: one sum instead of a slice and an add per repetition
  overrideConvGradient('Conv2D', ['x', 'filter'], false);
  overrideConvGradient('DepthwiseConv2dNative', ['x', 'filter'], true);
}

function useForwardConv(g: ConvGeometry): boolean {
  const dilated = g.dilations[0] > 1 || g.dilations[1] > 1;
  // tfjs's own conv gradients reject dilation > 1 on every backend; ours handle it.
  return (FORWARD_CONV_GRAD_BACKENDS.has(tf.getBackend()) || dilated) && canUseForwardConvGrads(g);
}

/** Our gradient functions, so re-installing never wraps one of ours as "the original". */
const ours = new Set<unknown>();

function overrideConvGradient(kernelName: string, inputsToSave: string[], depthwise: boolean): void {
  const current = tf.getGradient(kernelName);
  if (current && ours.has(current.gradFunc)) return; // still installed
  const original = current; // tfjs's gradient (native backprop kernels), used off wasm
  const config: GradConfig = {
    kernelName,
    inputsToSave,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: Attrs) => {
      const [x, filter] = saved as Tensor4D[];
      const a = attrs as { strides: number | [number, number]; dilations?: number | [number, number]; pad: unknown; dimRoundingMode?: unknown; dataFormat?: string };
      const nhwc = a.dataFormat === undefined || a.dataFormat === 'NHWC';
      const g = nhwc ? convGeometry(x.shape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, depthwise) : null;
      if (!depthwise && nhwc && nativeKernelsActive() && tf.getBackend() === 'wasm') return nativeConvGrads(dy as Tensor4D, x, filter, attrs);
      if (!g || !useForwardConv(g)) {
        if (!original) throw new Error(`no gradient registered for ${kernelName}`);
        return original.gradFunc(dy, saved, attrs as never);
      }
      const dy4 = dy as Tensor4D;
      return depthwise
        ? { x: () => depthwiseInputGrad(dy4, filter, g), filter: () => depthwiseFilterGrad(x, dy4, g) }
        : { x: () => convInputGrad(dy4, filter, g), filter: () => convFilterGrad(x, dy4, g) };
    },
  };
  ours.add(config.gradFunc);
  tf.registerGradient(config);
}

/** Conv2D's gradients as the native engine's backprop kernels (which, unlike tfjs's, take dilations). */
function nativeConvGrads(dy: Tensor4D, x: Tensor4D, filter: Tensor4D, attrs: Attrs): { x: () => Tensor; filter: () => Tensor } {
  const common = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: attrs.dimRoundingMode, dilations: attrs.dilations ?? 1 };
  return {
    x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: x.shape } as never) as Tensor,
    filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: filter.shape } as never) as Tensor,
  };
}
