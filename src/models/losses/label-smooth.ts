import { tf, type Tensor } from '../../engine/tf.js';

/**
 * mmcls LabelSmoothLoss (mode 'original'): labels (int `[N]` or soft `[N, C]`, e.g. after Mixup)
 * become (1 − ε)·y + ε/C, then the soft cross-entropy −Σ y·log softmax(x), averaged over the batch.
 */
export function labelSmoothLoss(logits: Tensor, labels: Tensor, eps: number): Tensor {
  const k = logits.shape[1] as number;
  const y = labels.rank === 1 ? tf.cast(tf.oneHot(tf.cast(labels, 'int32'), k), 'float32') : labels;
  const smooth = tf.add(tf.mul(y, 1 - eps), eps / k);
  return tf.neg(tf.mean(tf.sum(tf.mul(smooth, tf.logSoftmax(logits)), 1)));
}
