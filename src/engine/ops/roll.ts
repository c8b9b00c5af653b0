/**
 * `torch.roll(x, shifts, dims)`: elements shifted along each axis, wrapping around (TF.js has no
 * roll). Two slices and one concat per axis; the gradient is the opposite roll of dy.
 */
import { tf, type Tensor } from '../tf.js';

function rollOnce(x: Tensor, shift: number, axis: number): Tensor {
  const size = x.shape[axis] as number;
  const s = ((shift % size) + size) % size;
  if (s === 0) return x;
  const begin = x.shape.map(() => 0);
  const tail = x.shape.map((d, i) => (i === axis ? s : d));
  const head = x.shape.map((d, i) => (i === axis ? size - s : d));
  const last = tf.slice(x, begin.map((b, i) => (i === axis ? size - s : b)), tail);
  const first = tf.slice(x, begin, head);
  return tf.concat([last, first], axis);
}

function rollAll(x: Tensor, shifts: readonly number[], axes: readonly number[]): Tensor {
  return tf.tidy(() => {
    let y = x;
    shifts.forEach((s, k) => {
      const axis = axes[k] < 0 ? x.rank + axes[k] : axes[k];
      y = rollOnce(y, s, axis);
    });
    return y === x ? tf.clone(x) : y;
  });
}

/** x rolled by `shifts[k]` along `axes[k]` (positive: towards higher indices, as torch.roll). */
export function roll<T extends Tensor>(x: T, shifts: readonly number[], axes: readonly number[]): T {
  if (shifts.length !== axes.length) throw new Error(`roll: ${shifts.length} shifts for ${axes.length} axes`);
  const f = tf.customGrad(((a: Tensor) => ({
    value: rollAll(a, shifts, axes),
    gradFunc: (dy: Tensor | Tensor[]) => rollAll(dy as Tensor, shifts.map((s) => -s), axes),
  })) as never) as unknown as (a: Tensor) => Tensor;
  return f(x) as T;
}
