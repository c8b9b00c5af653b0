/**
 * LayerNorm over the last axis as two native kernels when the native engine is installed (the
 * portable path is six wasm kernels forward and about fifteen backward): forward gives y and each
 * row's mean and variance, backward dx, dγ, dβ.
 */
import { tf, type Tensor } from '../tf.js';

/** y = γ·(x − mean)/√(var + eps) + β per row of x `[..., C]`, differentiable in x, γ and β. */
export function nativeLayerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor {
  const f = tf.customGrad(((xi: Tensor, g: Tensor, b: Tensor, save: (ts: Tensor[]) => void) => {
    const [y, mean, variance] = tf.engine().runKernel('SslLayerNormForward', { x: xi, gamma: g, beta: b }, { eps }) as Tensor[];
    save([xi, mean, variance, g]);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [xs, m, v, gm] = saved;
        return tf.engine().runKernel('SslLayerNormBackward', { dy: dy as Tensor, x: xs, mean: m, variance: v, gamma: gm }, { eps }) as Tensor[];
      },
    };
  }) as never) as (a: Tensor, b: Tensor, c: Tensor) => Tensor;
  return f(x, gamma, beta);
}
