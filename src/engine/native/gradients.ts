/**
 * Gradients that route through the native engine's own kernels while it is installed; elsewhere
 * they defer to the gradient that was registered before (tfjs's).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';
import { nativeKernelsActive } from './kernels.js';

const ours = new Set<unknown>();

/** ReLU's gradient as one native kernel (tfjs's is step(x) · dy: three wasm kernels). */
export function registerNativeGradients(): void {
  const current = tf.getGradient('Relu');
  if (current && ours.has(current.gradFunc)) return;
  const original = current;
  const config = {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: Record<string, unknown>) => {
      const [x] = saved;
      if (nativeKernelsActive() && tf.getBackend() === 'wasm' && x.dtype === 'float32') {
        return { x: () => tf.engine().runKernel('SslReluBackward', { dy: dy as Tensor, x }, {}) as Tensor };
      }
      if (!original) throw new Error('no gradient registered for Relu');
      return original.gradFunc(dy, saved, attrs as never);
    },
  };
  ours.add(config.gradFunc);
  tf.registerGradient(config as never);
}
