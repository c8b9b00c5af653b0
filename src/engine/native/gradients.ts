/**
 * Gradients that route through the native engine's own kernels while it is installed; elsewhere
 * they defer to the gradient that was registered before (tfjs's).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import { nativeKernelsActive } from './kernels.js';

const ours = new Set<unknown>();

type GradFunc = (dy: Tensor | Tensor[], saved: Tensor[], attrs: Record<string, unknown>) => Record<string, () => Tensor>;

/** Registers `native` as kernelName's gradient when it returns a result, else the gradient registered before. */
function override(kernelName: string, save: { inputsToSave?: string[]; outputsToSave?: boolean[] }, native: (dy: Tensor, saved: Tensor[], attrs: Record<string, unknown>) => Tensor | null, input: string): void {
  const current = tf.getGradient(kernelName);
  if (current && ours.has(current.gradFunc)) return;
  const original = current;
  const gradFunc: GradFunc = (dy, saved, attrs) => {
    if (nativeKernelsActive() && tf.getBackend() === 'wasm' && saved[0].dtype === 'float32') {
      const dx = native(dy as Tensor, saved, attrs);
      if (dx) return { [input]: () => dx };
    }
    if (!original) throw new Error(`no gradient registered for ${kernelName}`);
    return original.gradFunc(dy, saved, attrs as never) as Record<string, () => Tensor>;
  };
  ours.add(gradFunc);
  tf.registerGradient({ kernelName, ...save, gradFunc } as never);
}

/** ReLU's and softmax's gradients as one native kernel each (tfjs's are three and five wasm kernels). */
export function registerNativeGradients(): void {
  override('Relu', { inputsToSave: ['x'] }, (dy, [x]) => tf.engine().runKernel('SslReluBackward', { dy, x }, {}) as Tensor, 'x');
  override(
    'Softmax',
    { outputsToSave: [true] },
    (dy, [y], attrs) => {
      const dim = attrs.dim as number;
      if (dim !== -1 && dim !== y.rank - 1) return null;
      return tf.engine().runKernel('SslSoftmaxBackward', { dy, y }, {}) as Tensor;
    },
    'logits',
  );
}
