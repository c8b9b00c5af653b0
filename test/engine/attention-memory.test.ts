/** Issue 18: multi-head attention keeps one [B·heads, N, N] tensor per layer alive for the backward pass, not several. */
import type { Scalar } from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { MultiheadAttention } from '../../src/engine/layers/attention.js';
import { tf, type Tensor3D, type Variable } from '../../src/engine/tf.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('bytes held after the forward pass inside the gradient tape: one score-sized tensor', () => {
  const [b, n, d, heads] = [2, 256, 4, 4];
  const attn = new MultiheadAttention(d, heads);
  const x = tf.randomNormal([b, n, d]) as Tensor3D;
  const scoreBytes = b * heads * n * n * 4;
  let held = 0;
  const { value, grads } = tf.variableGrads(() => {
    const before = tf.memory().numBytes;
    const y = attn.forward(x);
    held = tf.memory().numBytes - before;
    return tf.sum(y) as Scalar;
  }, attn.parameters() as Variable[]);
  // everything else the layer keeps is O(B·N·D): 8 KiB tensors; one score tensor is 2 MiB
  expect(held).toBeGreaterThanOrEqual(scoreBytes);
  expect(held).toBeLessThan(1.5 * scoreBytes);
  expect(Object.keys(grads).length).toBe(4);
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  x.dispose();
  attn.dispose();
});
