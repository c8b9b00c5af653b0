import { nativeKernelsTake } from '../native/kernels.js';
import { tf, type Tensor, type Tensor3D } from '../tf.js';

/**
 * softmax(q·kᵀ)·v for `[B, N, d]` q (already scaled), k, v with one `[B, N, M]` tensor kept per call:
 * the probabilities. The raw scores are freed as soon as the softmax is taken and the backward pass
 * recomputes nothing but reads the probabilities (dS = P ⊙ (dP − Σ dP ⊙ P)), where autodiff of
 * matMul → softmax would keep both `[B, N, M]` tensors alive until the step ends.
 */
export const scaledDotProductAttention = tf.customGrad(((q: Tensor3D, k: Tensor3D, v: Tensor3D, save: (ts: Tensor[]) => void) => {
  const scores = tf.matMul(q, k, false, true);
  const probs = tf.softmax(scores, -1);
  scores.dispose();
  save([q, k, v, probs]);
  return {
    value: tf.matMul(probs, v),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sq, sk, sv, p] = saved as Tensor3D[];
      const dProbs = tf.matMul(dy as Tensor3D, sv, false, true);
      const dScores = nativeKernelsTake(p)
        ? (tf.engine().runKernel('SslSoftmaxBackward', { dy: dProbs, y: p }, {}) as Tensor3D)
        : tf.mul(p, tf.sub(dProbs, tf.sum(tf.mul(dProbs, p), -1, true)));
      return [tf.matMul(dScores, sk), tf.matMul(dScores, sq, true, false), tf.matMul(p, dy as Tensor3D, true, false)];
    },
  };
}) as never) as unknown as (q: Tensor3D, k: Tensor3D, v: Tensor3D) => Tensor3D;

/**
 * softmax(q·kᵀ + bias)·v for `[B, N, d]` q (already scaled), k, v and an additive `[G, N, N]` bias
 * shared by every G-th batch entry (B = R·G, entry b takes bias[b mod G]): Swin's relative position
 * bias per head plus the shifted-window mask per window. Like `scaledDotProductAttention` it keeps
 * only the probabilities for the backward pass; the bias's gradient is dScores summed over R.
 */
export const biasedDotProductAttention = tf.customGrad(((q: Tensor3D, k: Tensor3D, v: Tensor3D, bias: Tensor3D, save: (ts: Tensor[]) => void) => {
  const [b, n, m] = [q.shape[0], q.shape[1], k.shape[1]];
  const g = bias.shape[0];
  if (b % g !== 0 || bias.shape[1] !== n || bias.shape[2] !== m) {
    throw new Error(`attention bias [${bias.shape}] does not fit scores [${b}, ${n}, ${m}]`);
  }
  const probs = tf.tidy(() => {
    const scores = tf.add(tf.reshape(tf.matMul(q, k, false, true), [b / g, g, n, m]), bias);
    return tf.reshape(tf.softmax(scores, -1), [b, n, m]) as Tensor3D;
  });
  save([q, k, v, probs]);
  return {
    value: tf.matMul(probs, v),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sq, sk, sv, p] = saved as Tensor3D[];
      const dProbs = tf.matMul(dy as Tensor3D, sv, false, true);
      const dScores = nativeKernelsTake(p)
        ? (tf.engine().runKernel('SslSoftmaxBackward', { dy: dProbs, y: p }, {}) as Tensor3D)
        : tf.mul(p, tf.sub(dProbs, tf.sum(tf.mul(dProbs, p), -1, true)));
      const dBias = tf.sum(tf.reshape(dScores, [b / g, g, n, m]), 0);
      return [tf.matMul(dScores, sk), tf.matMul(dScores, sq, true, false), tf.matMul(p, dy as Tensor3D, true, false), dBias];
    },
  };
}) as never) as unknown as (q: Tensor3D, k: Tensor3D, v: Tensor3D, bias: Tensor3D) => Tensor3D;
