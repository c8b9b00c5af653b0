/**
 * Tile's gradient as one reshape and one sum: dy `[r0·s0, r1·s1, …]` viewed as `[r0, s0, r1, s1, …]`
 * and summed over the repetition axes. tfjs's own gradient adds one slice of dy per repetition —
 * 2 × 1,536 kernel calls per step for MAE's mask tokens (`[1, 1, 192]` tiled to `[32, 48, 1]`),
 * each paying tfjs's per-op dispatch and tape cost.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { tf } from '../tfjs.js';

export function tileGrad(dy: Tensor, x: Tensor, reps: number[]): Tensor {
  if (reps.some((r) => r === 0)) return tf.zerosLike(x);
  const split: number[] = [];
  const axes: number[] = [];
  x.shape.forEach((s, i) => {
    if (reps[i] > 1) {
      axes.push(split.length);
      split.push(reps[i]);
    }
    if (reps[i] === 1 || s > 1) split.push(s);
  });
  if (!axes.length) return tf.reshape(dy, x.shape);
  return tf.reshape(tf.sum(tf.reshape(dy, split), axes), x.shape);
}

export function registerTileGradient(): void {
  tf.registerGradient({
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => tileGrad(dy as Tensor, x, (attrs as unknown as { reps: number[] }).reps) }),
  });
}
