import type { BatchStats, BatchStatsReducer } from '../../engine/layers/batch-norm.js';
import { tf, type Tensor, type Tensor1D } from '../../engine/tf.js';
import type { DistContext } from '../context.js';

/**
 * SyncBN for the engine's BatchNorm hook (`setBatchStatsReducer`): Σx, Σx² and the count summed
 * over ranks in ONE all-reduce; the backward pass all-reduces the gradients of Σx and Σx² (as
 * PyTorch's SyncBatchNorm does with sum_dy / sum_dy_xmu). Every rank must run the same SyncBN
 * layers in the same order (true for data-parallel copies of one model).
 */
export function syncBatchStatsReducer(c: DistContext): BatchStatsReducer {
  return (local: BatchStats): BatchStats => {
    if (c.worldSize === 1) return local;
    const channels = local.sum.shape[0];
    let count = local.count;
    const reduce = tf.customGrad(((sum: Tensor, sumSq: Tensor) => {
      const buf = new Float32Array(2 * channels + 1);
      buf.set(sum.dataSync() as Float32Array, 0);
      buf.set(sumSq.dataSync() as Float32Array, channels);
      buf[2 * channels] = local.count;
      c.allReduce(buf, 'sum');
      count = buf[2 * channels];
      return {
        value: tf.tensor1d(buf.subarray(0, 2 * channels)),
        gradFunc: (dy: Tensor) => {
          const g = (dy.dataSync() as Float32Array).slice();
          c.allReduce(g, 'sum');
          return [tf.tensor1d(g.subarray(0, channels)), tf.tensor1d(g.subarray(channels))];
        },
      };
    }) as never) as (a: Tensor, b: Tensor) => Tensor;
    const both = reduce(local.sum, local.sumSq);
    return { sum: tf.slice(both, [0], [channels]) as Tensor1D, sumSq: tf.slice(both, [channels], [channels]) as Tensor1D, count };
  };
}
