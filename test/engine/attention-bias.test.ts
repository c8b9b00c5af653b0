/** biasedDotProductAttention (Swin's window attention core): values and gradients of softmax(q·kᵀ + bias)·v, one score tensor kept. */
import type { Scalar } from '@tensorflow/tfjs-core';
import { biasedDotProductAttention } from '../../src/engine/layers/attention-core.js';
import { tf, type Tensor, type Tensor3D } from '../../src/engine/tf.js';
import { describeEachEngine } from './backends-under-test.js';

/** The same function written with autodiff'd ops: bias broadcast over the R = B / G leading groups. */
function reference(q: Tensor3D, k: Tensor3D, v: Tensor3D, bias: Tensor3D): Tensor3D {
  const [b, n, m] = [q.shape[0], q.shape[1], k.shape[1]];
  const g = bias.shape[0];
  const s = tf.reshape(tf.add(tf.reshape(tf.matMul(q, k, false, true), [b / g, g, n, m]), bias), [b, n, m]);
  return tf.matMul(tf.softmax(s, -1), v) as Tensor3D;
}

describeEachEngine('biased attention equals autodiff of its formula', () => {
  test('values and the gradients of q, k, v and the bias (6 = 2 × 3 batch entries per bias)', () => {
    tf.tidy(() => {
      const [b, g, n, d] = [6, 3, 5, 4];
      const q = tf.randomNormal([b, n, d], 0, 1, 'float32', 1) as Tensor3D;
      const k = tf.randomNormal([b, n, d], 0, 1, 'float32', 2) as Tensor3D;
      const v = tf.randomNormal([b, n, d], 0, 1, 'float32', 3) as Tensor3D;
      const bias = tf.randomNormal([g, n, n], 0, 2, 'float32', 4) as Tensor3D;
      const w = tf.randomNormal([b, n, d], 0, 1, 'float32', 5);
      const loss = (f: typeof reference) => (a: Tensor, bb: Tensor, c: Tensor, e: Tensor) => tf.sum(tf.mul(f(a as Tensor3D, bb as Tensor3D, c as Tensor3D, e as Tensor3D), w)) as Scalar;
      const got = tf.grads(loss(biasedDotProductAttention))([q, k, v, bias]);
      const want = tf.grads(loss(reference))([q, k, v, bias]);
      const close = (x: Tensor, y: Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] / Math.max(1e-6, tf.max(tf.abs(y)).dataSync()[0]);
      expect(close(biasedDotProductAttention(q, k, v, bias), reference(q, k, v, bias))).toBeLessThan(1e-5);
      got.forEach((gr, i) => expect({ i, err: close(gr, want[i]) < 1e-4 }).toEqual({ i, err: true }));
    });
  });

  test('a bias that does not fit the scores is an error naming both shapes', () => {
    const q = tf.zeros([4, 3, 2]) as Tensor3D;
    expect(() => biasedDotProductAttention(q, q, q, tf.zeros([3, 3, 3]) as Tensor3D)).toThrow(/attention bias \[3,3,3\] does not fit scores \[4, 3, 3\]/);
  });

  test('inside the tape the layer keeps one score-sized tensor (the probabilities)', () => {
    const [b, n, d] = [8, 64, 4];
    const q = tf.variable(tf.randomNormal([b, n, d]));
    const bias = tf.variable(tf.randomNormal([2, n, n]));
    let held = 0;
    const { value, grads } = tf.variableGrads(() => {
      const before = tf.memory().numBytes;
      const y = biasedDotProductAttention(q as unknown as Tensor3D, q as unknown as Tensor3D, q as unknown as Tensor3D, bias as unknown as Tensor3D);
      held = tf.memory().numBytes - before;
      return tf.sum(y) as Scalar;
    }, [q, bias]);
    const scoreBytes = b * n * n * 4;
    expect(held).toBeGreaterThanOrEqual(scoreBytes);
    expect(held).toBeLessThan(1.5 * scoreBytes);
    value.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    q.dispose();
    bias.dispose();
  });
});
