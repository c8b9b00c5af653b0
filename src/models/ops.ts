import { tf, type Tensor } from '../engine/tf.js';

/**
 * Identity whose gradient is zero (PyTorch `.detach()` inside a differentiated function).
 * TensorFlow.js has no stop_gradient op, so it is a custom gradient.
 */
export function stopGradient<T extends Tensor>(x: T): T {
  const f = tf.customGrad(((a: Tensor) => ({ value: tf.clone(a), gradFunc: (dy: Tensor) => tf.zerosLike(dy) })) as never);
  return (f as unknown as (t: Tensor) => Tensor)(x) as T;
}

/**
 * `fn(...inputs)` computed off the gradient tape (PyTorch `with torch.no_grad()`); its result's gradient
 * is zero. Ops a differentiated function runs are recorded with the tensors their gradients need, and
 * those live until the backward pass even when the result is then detached; inside a custom gradient's
 * forward TensorFlow.js records nothing, so fn's intermediates are freed as soon as it returns.
 */
export function noGrad<T extends Tensor>(fn: (...inputs: Tensor[]) => T, ...inputs: Tensor[]): T {
  const f = tf.customGrad(((...args: Tensor[]) => ({
    value: fn(...args.slice(0, inputs.length)),
    gradFunc: () => inputs.map((t) => tf.zerosLike(t)),
  })) as never);
  return (f as unknown as (...t: Tensor[]) => T)(...inputs);
}

/** `F.normalize(x, dim=-1)`: x / max(‖x‖₂, eps) along the last axis. x `[N, C]` -> `[N, C]`. */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
  return tf.div(x, tf.maximum(norm, eps));
}

/** Global average pool of NHWC `[N, H, W, C]` -> `[N, C]` (a `[N, C]` input passes through). */
export function globalAvgPool(x: Tensor): Tensor {
  return x.rank === 4 ? tf.mean(x, [1, 2]) : x;
}
