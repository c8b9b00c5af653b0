import { tf } from '../tfjs.js';
import { TFJS_GRADIENT_CONFIGS } from './tfjs-gradients.js';

let installed = false;

/**
 * Registers tfjs-core's gradient configs (vendored; only the @tensorflow/tfjs bundle registers them
 * otherwise). Gradients registered before (e.g. by tfjs-node's bundle) are kept.
 */
export function registerTfjsGradients(): void {
  if (installed) return;
  installed = true;
  for (const config of TFJS_GRADIENT_CONFIGS as Parameters<typeof tf.registerGradient>[0][]) {
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
  }
}
