import { MultiheadAttention } from '../../engine/layers/attention.js';
import { linear } from '../../engine/layers/linear.js';
import { tf, type Tensor, type Tensor3D, type Variable } from '../../engine/tf.js';

/**
 * softmax(q·kᵀ + bias)·v for q, k, v `[N·H, L, d]` (q already scaled) and a per-head bias `[H, L, L]`
 * shared by the N images, keeping one `[N·H, L, L]` tensor (the probabilities) for the backward pass.
 */
const biasedAttention = (n: number) => tf.customGrad(((q: Tensor3D, k: Tensor3D, v: Tensor3D, bias: Tensor3D, save: (ts: Tensor[]) => void) => {
  const [bh, l] = q.shape;
  const h = bh / n;
  const m = k.shape[1];
  const scores = tf.reshape(tf.add(tf.reshape(tf.matMul(q, k, false, true), [n, h, l, m]), bias), [bh, l, m]);
  const probs = tf.softmax(scores, -1);
  scores.dispose();
  save([q, k, v, probs]);
  return {
    value: tf.matMul(probs, v),
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [sq, sk, sv, p] = saved as Tensor3D[];
      const dProbs = tf.matMul(dy as Tensor3D, sv, false, true);
      const dScores = tf.mul(p, tf.sub(dProbs, tf.sum(tf.mul(dProbs, p), -1, true))) as Tensor3D;
      return [tf.matMul(dScores, sk), tf.matMul(dScores, sq, true, false), tf.matMul(p, dy as Tensor3D, true, false), tf.sum(tf.reshape(dScores, [n, h, l, m]), 0)];
    },
  };
}) as never) as unknown as (q: Tensor3D, k: Tensor3D, v: Tensor3D, bias: Tensor3D) => Tensor3D;

/** BEiT's relative position index for a Wh×Ww window plus the cls token: `[(Wh·Ww + 1)²]`, row-major. */
export function relativePositionIndex(wh: number, ww: number): Int32Array {
  const n = wh * ww;
  const numRel = (2 * wh - 1) * (2 * ww - 1) + 3;
  const out = new Int32Array((n + 1) * (n + 1));
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const dh = Math.floor(a / ww) - Math.floor(b / ww) + wh - 1;
      const dw = (a % ww) - (b % ww) + ww - 1;
      out[(a + 1) * (n + 1) + b + 1] = dh * (2 * ww - 1) + dw;
    }
  }
  for (let j = 0; j <= n; j++) out[j] = numRel - 3; // cls token to the patches
  for (let i = 0; i <= n; i++) out[i * (n + 1)] = numRel - 2; // patches to the cls token
  out[0] = numRel - 1;
  return out;
}

/**
 * MMSelfSup 0.x MultiheadAttentionWithRPE (the `use_window` attention of MIMVisionTransformer): a
 * bias-free `qkv` Linear with learned `q_bias`/`v_bias` when qkv_bias (none otherwise), and a learned
 * `relative_position_bias_table` `[(2Wh−1)(2Ww−1) + 3, heads]` (zeros at init) indexed by the fixed
 * `relative_position_index` buffer and added to the attention scores of the window (cls token included).
 */
export class MultiheadAttentionWithRPE extends MultiheadAttention {
  readonly qBias: Variable | null = null;
  readonly vBias: Variable | null = null;
  readonly relativePositionBiasTable: Variable;
  readonly relativePositionIndex: Variable;

  constructor(embedDims: number, numHeads: number, readonly windowSize: [number, number], args: { qkvBias: boolean; attnDrop?: number; projDrop?: number }) {
    super(embedDims, numHeads, { ...args, qkvBias: false });
    if (args.qkvBias) {
      this.qBias = this.registerParameter('q_bias', tf.zeros([embedDims]));
      this.vBias = this.registerParameter('v_bias', tf.zeros([embedDims]));
    }
    const [wh, ww] = windowSize;
    this.relativePositionBiasTable = this.registerParameter('relative_position_bias_table', tf.zeros([(2 * wh - 1) * (2 * ww - 1) + 3, numHeads]));
    const n = wh * ww + 1;
    this.relativePositionIndex = this.registerBuffer('relative_position_index', tf.tensor2d(relativePositionIndex(wh, ww), [n, n], 'int32'));
  }

  protected override projectQKV(x: Tensor3D): Tensor {
    return linear(x, this.qkv.weight, this.qBias && this.vBias ? tf.concat([this.qBias, tf.zerosLike(this.vBias), this.vBias]) : null);
  }

  override forward(x: Tensor3D): Tensor3D {
    const [n, l, d] = x.shape;
    const h = this.numHeads;
    const hd = this.headDims;
    const [wh, ww] = this.windowSize;
    if (l !== wh * ww + 1) throw new Error(`MultiheadAttentionWithRPE built for ${wh}×${ww} patches + cls got ${l} tokens`);
    const qkv = tf.transpose(tf.reshape(this.projectQKV(x), [n, l, 3, h, hd]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0).map((t) => tf.reshape(t, [n * h, l, hd]) as Tensor3D);
    // table[index] -> [L, L, H] -> [H, L, L]
    const bias = tf.transpose(tf.reshape(tf.gather(this.relativePositionBiasTable, tf.reshape(this.relativePositionIndex, [-1])), [l, l, h]), [2, 0, 1]) as Tensor3D;
    const qs = tf.mul(q, this.scale) as Tensor3D;
    const attended = this.attnDrop.training && this.attnDrop.p > 0
      ? tf.matMul(this.attnDrop.forward(tf.softmax(tf.reshape(tf.add(tf.reshape(tf.matMul(qs, k, false, true), [n, h, l, l]), bias), [n * h, l, l]), -1)) as Tensor3D, v)
      : biasedAttention(n)(qs, k, v, bias);
    const out = tf.reshape(tf.transpose(tf.reshape(attended, [n, h, l, hd]), [0, 2, 1, 3]), [n, l, d]);
    return this.projDrop.forward(this.proj.forward(out)) as Tensor3D;
  }
}
