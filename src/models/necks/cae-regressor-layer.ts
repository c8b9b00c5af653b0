import { scaledDotProductAttention } from '../../engine/layers/attention-core.js';
import { Dropout, DropPath } from '../../engine/layers/dropout.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear, linear } from '../../engine/layers/linear.js';
import { FFN } from '../../engine/layers/mlp.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor, type Tensor3D, type Variable } from '../../engine/tf.js';

/**
 * MMSelfSup's CrossMultiheadAttention: queries from `x`, keys and values from `k`/`v` (bias-free
 * `q`, `k`, `v` Linears; learned `q_bias`/`v_bias` when qkv_bias, the key bias fixed at 0), then `proj`.
 */
export class CrossMultiheadAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly qBias: Variable | null = null;
  readonly vBias: Variable | null = null;
  readonly attnDrop: Dropout;
  readonly proj: Linear;
  readonly projDrop: Dropout;
  readonly scale: number;

  constructor(readonly embedDims: number, readonly numHeads: number, o: { qkvBias: boolean; qkScale?: number | null; attnDrop: number; projDrop: number }) {
    super();
    this.scale = o.qkScale ?? (embedDims / numHeads) ** -0.5;
    this.q = this.registerModule('q', new Linear(embedDims, embedDims, { bias: false }));
    this.k = this.registerModule('k', new Linear(embedDims, embedDims, { bias: false }));
    this.v = this.registerModule('v', new Linear(embedDims, embedDims, { bias: false }));
    if (o.qkvBias) {
      this.qBias = this.registerParameter('q_bias', tf.zeros([embedDims]));
      this.vBias = this.registerParameter('v_bias', tf.zeros([embedDims]));
    }
    this.attnDrop = this.registerModule('attn_drop', new Dropout(o.attnDrop));
    this.proj = this.registerModule('proj', new Linear(embedDims, embedDims));
    this.projDrop = this.registerModule('proj_drop', new Dropout(o.projDrop));
  }

  /** x `[N, Lq, D]`, k `[N, Lk, D]`, v `[N, Lk, D]` -> `[N, Lq, D]`. */
  forward(x: Tensor3D, k: Tensor3D, v: Tensor3D): Tensor3D {
    const [n, lq, d] = x.shape;
    const lk = k.shape[1];
    const h = this.numHeads;
    const hd = d / h;
    const heads = (t: Tensor, l: number) => tf.reshape(tf.transpose(tf.reshape(t, [n, l, h, hd]), [0, 2, 1, 3]), [n * h, l, hd]) as Tensor3D;
    const q3 = heads(tf.mul(linear(x, this.q.weight, this.qBias), this.scale), lq);
    const k3 = heads(linear(k, this.k.weight, null), lk);
    const v3 = heads(linear(v, this.v.weight, this.vBias), lk);
    const attended = this.attnDrop.training && this.attnDrop.p > 0
      ? tf.matMul(this.attnDrop.forward(tf.softmax(tf.matMul(q3, k3, false, true), -1)) as Tensor3D, v3)
      : scaledDotProductAttention(q3, k3, v3);
    const out = tf.reshape(tf.transpose(tf.reshape(attended, [n, h, lq, hd]), [0, 2, 1, 3]), [n, lq, d]);
    return this.projDrop.forward(this.proj.forward(out)) as Tensor3D;
  }
}

/**
 * MMSelfSup's CAETransformerRegressorLayer: the masked queries attend to all tokens,
 * x = x_q + γ₁·cross_attn(norm1_q(x_q + pos_q), norm1_k(x_kv + pos_k), norm1_v(x_kv)); x = norm2(x);
 * x = x + γ₂·ffn(x). γ = init_values (trained) when > 0, else frozen ones.
 */
export class CAETransformerRegressorLayer extends Module {
  readonly norm1QCross: LayerNorm;
  readonly norm1KCross: LayerNorm;
  readonly norm1VCross: LayerNorm;
  readonly norm2Cross: LayerNorm;
  readonly crossAttn: CrossMultiheadAttention;
  readonly ffn: FFN;
  readonly dropPath: DropPath;
  readonly gamma1Cross: Variable;
  readonly gamma2Cross: Variable;

  constructor(d: number, heads: number, ff: number, o: { qkvBias: boolean; qkScale?: number | null; dropRate: number; attnDropRate: number; dropPathRate: number; initValues: number; eps: number }) {
    super();
    this.norm1QCross = this.registerModule('norm1_q_cross', new LayerNorm(d, o.eps));
    this.norm1KCross = this.registerModule('norm1_k_cross', new LayerNorm(d, o.eps));
    this.norm1VCross = this.registerModule('norm1_v_cross', new LayerNorm(d, o.eps));
    this.norm2Cross = this.registerModule('norm2_cross', new LayerNorm(d, o.eps));
    this.crossAttn = this.registerModule('cross_attn', new CrossMultiheadAttention(d, heads, { qkvBias: o.qkvBias, qkScale: o.qkScale, attnDrop: o.attnDropRate, projDrop: o.dropRate }));
    this.ffn = this.registerModule('ffn', new FFN(d, ff, { ffnDrop: o.dropRate }));
    this.dropPath = this.registerModule('drop_path', new DropPath(o.dropPathRate));
    const trained = o.initValues > 0;
    this.gamma1Cross = this.registerParameter('gamma_1_cross', tf.fill([d], trained ? o.initValues : 1), { requiresGrad: trained });
    this.gamma2Cross = this.registerParameter('gamma_2_cross', tf.fill([d], trained ? o.initValues : 1), { requiresGrad: trained });
  }

  forward(xQ: Tensor3D, xKV: Tensor3D, posQ: Tensor3D, posK: Tensor3D): Tensor3D {
    const attended = this.crossAttn.forward(
      this.norm1QCross.forward(tf.add(xQ, posQ)) as Tensor3D,
      this.norm1KCross.forward(tf.add(xKV, posK)) as Tensor3D,
      this.norm1VCross.forward(xKV) as Tensor3D,
    );
    const x = this.norm2Cross.forward(tf.add(xQ, this.dropPath.forward(tf.mul(this.gamma1Cross, attended)))) as Tensor3D;
    return tf.add(x, this.dropPath.forward(tf.mul(this.gamma2Cross, this.ffn.forward(x)))) as Tensor3D;
  }
}
