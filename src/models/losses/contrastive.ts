import { tf, type Tensor } from '../../engine/tf.js';

/**
 * InfoNCE with the positive in column 0 (MMSelfSup `ContrastiveHead`):
 * `CE(cat([pos, neg], 1) / T, label=0)` averaged over rows.
 *
 * Written with its gradient (softmax minus the one-hot of column 0, over N·T) instead of through
 * tfjs's `concat` + `logSumExp`: their gradients are a SplitV of the logits and, for the max inside
 * logSumExp, an Equal over all of them, which took 1.8 s of DenseCL's 1.9 s step at 128 × 65,537
 * dense logits (benchmarks/algo-step-time.ts).
 * @param pos `[N, 1]` positive similarities
 * @param neg `[N, K]` negative similarities
 * @returns scalar loss
 */
export function contrastiveLoss(pos: Tensor, neg: Tensor, temperature: number): Tensor {
  const n = pos.shape[0];
  const f = tf.customGrad(((p: Tensor, q: Tensor, save: (ts: Tensor[]) => void) => {
    const lp = tf.div(p, temperature);
    const lq = tf.div(q, temperature);
    const rowMax = tf.maximum(tf.max(lq, 1, true), lp);
    const ePos = tf.exp(tf.sub(lp, rowMax));
    const eNeg = tf.exp(tf.sub(lq, rowMax));
    const total = tf.add(ePos, tf.sum(eNeg, 1, true));
    save([ePos, eNeg, total]);
    return {
      value: tf.mean(tf.sub(tf.add(tf.log(total), rowMax), lp)),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [sp, sn, st] = saved;
        const scale = tf.div(dy as Tensor, n * temperature);
        return [tf.mul(tf.sub(tf.div(sp, st), 1), scale), tf.mul(tf.div(sn, st), scale)];
      },
    };
  }) as never) as (p: Tensor, q: Tensor) => Tensor;
  return f(pos, neg);
}

const maskCache = new Map<number, { pos: Float32Array; keep: Float32Array }>();

/** Large negative standing in for -inf in masked logits (exp underflows to exactly 0). */
export const MASKED = -1e9;

/**
 * SimCLR's positive/negative split of the `[2N, 2N]` cosine-similarity matrix of L2-normalised
 * features `z` `[2N, D]` where rows 2i and 2i+1 are the two views of image i (MMSelfSup's layout,
 * kept by a rank-ordered all-gather)
 * (Chen et al. 2020, https://arxiv.org/abs/2002.05709).
 * @returns pos `[2N, 1]`; neg `[2N, 2N]` with the self and positive columns set to {@link MASKED}
 * (in the loss identical to MMSelfSup's `[2N, 2N-2]` selection; a gather's gradient has no wasm kernel).
 */
export function simclrPairs(z: Tensor): { pos: Tensor; neg: Tensor } {
  const m = z.shape[0];
  if (m % 2 !== 0) throw new Error(`SimCLR needs an even number of features (two views), got ${m}`);
  let masks = maskCache.get(m);
  if (!masks) {
    const pos = new Float32Array(m * m);
    const keep = new Float32Array(m * m).fill(1);
    for (let k = 0; k < m; k++) {
      const partner = k ^ 1;
      pos[k * m + partner] = 1;
      keep[k * m + partner] = 0;
      keep[k * m + k] = 0;
    }
    masks = { pos, keep };
    maskCache.set(m, masks);
  }
  const s = tf.matMul(z, z, false, true);
  const posMask = tf.tensor2d(masks.pos, [m, m]);
  const keep = tf.tensor2d(masks.keep, [m, m]);
  const pos = tf.sum(tf.mul(s, posMask), 1, true);
  const neg = tf.add(tf.mul(s, keep), tf.mul(tf.sub(1, keep), MASKED));
  return { pos, neg };
}

/** MoCo logits: `l_pos = Σ q·k` `[N, 1]`, `l_neg = q · queue` `[N, K]` (queue `[C, K]`). */
export function mocoLogits(q: Tensor, k: Tensor, queue: Tensor): { pos: Tensor; neg: Tensor } {
  return { pos: tf.sum(tf.mul(q, k), 1, true), neg: tf.matMul(q, queue) };
}
