/**
 * BatchNorm's training pass (batch statistics over all but the last axis) as two native kernels,
 * when the native engine is installed: forward gives y and the batch moments, backward dx, dγ, dβ.
 */
import { nativeKernelsTake } from '../native/kernels.js';
import { tf, type Tensor } from '../tf.js';

export function nativeBatchNormAvailable(x: Tensor): boolean {
  return nativeKernelsTake(x);
}

/**
 * y = γ·(x − mean)/√(var + eps) + β with the batch's mean and biased variance (handed to `onMoments`
 * for the running statistics), differentiable in x, γ and β.
 */
export function nativeBatchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number, onMoments: (mean: Tensor, variance: Tensor) => void): Tensor {
  const f = tf.customGrad(((xi: Tensor, g: Tensor, b: Tensor, save: (ts: Tensor[]) => void) => {
    const [y, mean, variance, rstd] = tf.engine().runKernel('SslBatchNormForward', { x: xi, gamma: g, beta: b }, { eps }) as Tensor[];
    onMoments(mean, variance);
    save([xi, mean, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, m, rs, gm] = saved;
        return tf.engine().runKernel('SslBatchNormBackward', { dy: dy as Tensor, x: xs, mean: m, rstd: rs, gamma: gm }, {}) as Tensor[];
      },
    };
  }) as never) as (a: Tensor, b: Tensor, c: Tensor) => Tensor;
  return f(x, gamma, beta);
}
