import { tf, type Tensor, type Tensor3D } from '../engine/tf.js';

/**
 * `torch.gather(x, 1, ids.unsqueeze(-1).repeat(1, 1, D))`: x `[N, L, D]`, ids `[N, K]` (int32) ->
 * `[N, K, D]`. One flat gather over `[N·L, D]` (tf.gather with batchDims
 * differentiates sample by sample). Call inside a tidy or tape scope.
 */
export function gatherTokens(x: Tensor3D, ids: Tensor): Tensor3D {
  const [n, l, d] = x.shape;
  const k = ids.shape[1] as number;
  const flat = tf.reshape(tf.add(tf.cast(ids, 'int32'), tf.reshape(tf.range(0, n * l, l, 'int32'), [n, 1])), [n * k]);
  return tf.reshape(tf.gather(tf.reshape(x, [n * l, d]), flat), [n, k, d]) as Tensor3D;
}
