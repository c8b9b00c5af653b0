/**
 * GELU as one native kernel forward and one backward when the native engine is installed (the
 * portable x·Φ(x) is four wasm kernels forward and about ten backward).
 */
import { tf, type Tensor } from '../tf.js';

export function nativeGelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const f = tf.customGrad(((xi: Tensor, save: (ts: Tensor[]) => void) => {
    save([xi]);
    return {
      value: tf.engine().runKernel('SslGelu', { x: xi }, { approximate }) as Tensor,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => tf.engine().runKernel('SslGeluBackward', { dy: dy as Tensor, x: saved[0] }, { approximate }) as Tensor,
    };
  }) as never) as (a: Tensor) => Tensor;
  return f(x);
}
