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

/** SyncBN's local statistics: per-channel Σx and Σx² of x `[..., C]` (one native pass, sums in double), differentiable in x. */
export function nativeBatchStats(x: Tensor): { sum: Tensor; sumSq: Tensor } {
  const f = tf.customGrad(((xi: Tensor, save: (ts: Tensor[]) => void) => {
    save([xi]);
    const [sum, sumSq] = tf.engine().runKernel('SslBatchNormStats', { x: xi }, {}) as Tensor[];
    return {
      value: tf.concat([sum, sumSq]),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [dSum, dSumSq] = tf.split(dy as Tensor, 2);
        return tf.engine().runKernel('SslBatchNormStatsBackward', { dSum, dSumSq, x: saved[0] }, {}) as Tensor;
      },
    };
  }) as never) as (a: Tensor) => Tensor;
  const both = f(x);
  const [sum, sumSq] = tf.split(both, 2);
  return { sum, sumSq };
}

/**
 * y = γ·(x − mean)/√(variance + eps) + β with given statistics (SyncBN's global ones), differentiable
 * in all five: dmean and dvariance flow back through the statistics' all-reduce.
 */
export function nativeBatchNormApply(x: Tensor, mean: Tensor, variance: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const f = tf.customGrad(((xi: Tensor, m: Tensor, v: Tensor, g: Tensor, b: Tensor, save: (ts: Tensor[]) => void) => {
    save([xi, m, v, g]);
    return {
      value: tf.engine().runKernel('SslBatchNormApply', { x: xi, mean: m, variance: v, gamma: g, beta: b }, { eps }) as Tensor,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, ms, vs, gs] = saved;
        return tf.engine().runKernel('SslBatchNormApplyBackward', { dy: dy as Tensor, x: xs, mean: ms, variance: vs, gamma: gs }, { eps }) as Tensor[];
      },
    };
  }) as never) as (a: Tensor, b: Tensor, c: Tensor, d: Tensor, e: Tensor) => Tensor;
  return f(x, mean, variance, gamma, beta);
}
