/** roll (src/engine/ops/roll.ts) is torch.roll: values wrap around; the gradient is the opposite roll. */
import type { Scalar } from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { roll } from '../../src/engine/ops/roll.js';
import { tf, type Tensor } from '../../src/engine/tf.js';

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});

test('values as torch.roll (positive shifts move elements to higher indices, negative and oversized shifts wrap)', () => {
  const x = tf.tensor2d([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  // torch.roll(x, shifts=(1, -1), dims=(0, 1))
  expect(roll(x, [1, -1], [0, 1]).arraySync()).toEqual([[9, 10, 11, 8], [1, 2, 3, 0], [5, 6, 7, 4]]);
  expect(roll(x, [5], [1]).arraySync()).toEqual(roll(x, [1], [1]).arraySync());
  expect(roll(x, [1], [-1]).arraySync()).toEqual([[3, 0, 1, 2], [7, 4, 5, 6], [11, 8, 9, 10]]);
  expect(roll(x, [0, 4], [0, 1]).arraySync()).toEqual(x.arraySync());
});

test('gradient: each input element receives the weight of the output position it moved to', () => {
  const x = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i), [1, 4, 6]);
  const w = tf.tensor3d(Array.from({ length: 24 }, (_, i) => (i * 7) % 5 - 2), [1, 4, 6]);
  const g = tf.grad((a: Tensor) => tf.sum(tf.mul(roll(a, [-2, 3], [1, 2]), w)) as Scalar)(x);
  // d/dx[i] of Σ w·roll(x) is w at i's new position: roll(w) the other way
  expect(g.arraySync()).toEqual(roll(w, [2, -3], [1, 2]).arraySync());
  expect(() => roll(x, [1], [0, 1])).toThrow(/1 shifts for 2 axes/);
});
