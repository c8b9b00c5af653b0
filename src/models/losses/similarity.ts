import { tf, type Tensor } from '../../engine/tf.js';
import { l2Normalize } from '../ops.js';

/**
 * Negative cosine similarity (MMSelfSup `LatentPredictHead`, BYOL/SimSiam):
 * `-mean_i <pred_i/‖pred_i‖, target_i/‖target_i‖>`. The caller detaches `target`.
 * @param pred `[N, C]`
 * @param target `[N, C]`
 * @returns scalar in [-1, 1]
 */
export function negativeCosineLoss(pred: Tensor, target: Tensor): Tensor {
  return tf.neg(tf.mean(tf.sum(tf.mul(l2Normalize(pred), l2Normalize(target)), 1)));
}

/**
 * Barlow Twins loss (Zbontar et al. 2021, https://arxiv.org/abs/2103.03230) on batch-normalised
 * features: `c = z1ᵀ z2 / N`, `Σ_i (1 - c_ii)² + λ Σ_{i≠j} c_ij²`.
 * @param z1 `[N, C]` batch-normalised (no affine)
 * @param z2 `[N, C]`
 * @param batchTotal N over all processes (divides c)
 */
export function crossCorrelationLoss(z1: Tensor, z2: Tensor, lambd: number, batchTotal = z1.shape[0]): Tensor {
  const c = tf.div(tf.matMul(z1, z2, true, false), batchTotal);
  const n = c.shape[0];
  const eye = tf.eye(n);
  const diag = tf.sum(tf.mul(c, eye), 1);
  const onDiag = tf.sum(tf.square(tf.sub(diag, 1)));
  const offDiag = tf.sum(tf.square(tf.mul(c, tf.sub(1, eye))));
  return tf.add(onDiag, tf.mul(offDiag, lambd));
}

/**
 * Mean cross-entropy of `logits` `[N, K]` against integer `labels` `[N]` (torch.nn.CrossEntropyLoss).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const k = logits.shape[1] as number;
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logp), 1)));
}

/**
 * `nn.CrossEntropyLoss(weight=w)`: Σ w[y_i]·nll_i / Σ w[y_i]. logits `[N, K]`, labels `[N]`, weight `[K]`.
 */
export function weightedCrossEntropy(logits: Tensor, labels: Tensor, weight: Tensor): Tensor {
  const k = logits.shape[1] as number;
  const oneHot = tf.oneHot(tf.cast(labels, 'int32'), k);
  const w = tf.sum(tf.mul(oneHot, weight), 1);
  const nll = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1));
  return tf.div(tf.sum(tf.mul(w, nll)), tf.sum(w));
}

/** Top-k accuracy in percent (mmcls `accuracy`): share of rows whose label is among the k largest logits. */
export function topkAccuracy(logits: Tensor, labels: Tensor, k = 1): Tensor {
  return tf.tidy(() => {
    const { indices } = tf.topk(logits, k);
    const hit = tf.any(tf.equal(indices, tf.expandDims(tf.cast(labels, 'int32'), 1)), 1);
    return tf.mul(tf.mean(tf.cast(hit, 'float32')), 100);
  });
}
