import { tf, type Tensor } from '../../engine/tf.js';
import type { DistContext } from '../context.js';

/**
 * The seed's `GatherLayer` with the summed gradient: forward returns every rank's `x`
 * concatenated along axis 0 (`[Σ N_r, ...]`, rank order); backward all-reduces (sums) the
 * gradient of that result over ranks and returns this rank's rows. Each rank computing the same
 * loss on the gathered batch then gets, after gradient averaging, the gradient of one process
 * with the whole batch. Blocking: usable inside `tf.variableGrads`. float32 only.
 */
export function gatherWithGrad(c: DistContext, x: Tensor): Tensor {
  if (c.worldSize === 1) return x;
  if (x.dtype !== 'float32') throw new Error(`gatherWithGrad needs float32, got ${x.dtype}`);
  const rowShape = x.shape.slice(1);
  const rowSize = rowShape.reduce((a, b) => a * b, 1);
  const gather = tf.customGrad(((input: Tensor) => {
    const blocks = c.allGatherBlocks(input.dataSync() as Float32Array);
    const rows = blocks.map((b) => b.length / rowSize);
    const offset = rows.slice(0, c.rank).reduce((a, b) => a + b, 0);
    const total = rows.reduce((a, b) => a + b, 0);
    const all = new Float32Array(total * rowSize);
    let off = 0;
    for (const b of blocks) {
      all.set(b, off);
      off += b.length;
    }
    const mine = rows[c.rank];
    return {
      value: tf.tensor(all, [total, ...rowShape], 'float32'),
      gradFunc: (dy: Tensor) => {
        const g = (dy.dataSync() as Float32Array).slice();
        c.allReduce(g, 'sum');
        return tf.tensor(g.subarray(offset * rowSize, (offset + mine) * rowSize), input.shape, 'float32');
      },
    };
  }) as never) as (x: Tensor) => Tensor;
  return gather(x);
}

/** Σ over ranks of `x` with gradient Σ over ranks of dy (all-reduce is its own adjoint). Blocking. */
export function allReduceSumWithGrad(c: DistContext, x: Tensor): Tensor {
  if (c.worldSize === 1) return x;
  const reduce = tf.customGrad(((input: Tensor) => ({
    value: tf.tensor(c.allReduce((input.dataSync() as Float32Array).slice(), 'sum'), input.shape, 'float32'),
    gradFunc: (dy: Tensor) => tf.tensor(c.allReduce((dy.dataSync() as Float32Array).slice(), 'sum'), dy.shape, 'float32'),
  })) as never) as (x: Tensor) => Tensor;
  return reduce(x);
}
