import { Module } from '../module.js';
import { tf, type Tensor, type Tensor3D } from '../tf.js';
import { scaledDotProductAttention } from './attention-core.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';

/**
 * Multi-head self-attention as mmcls's `MultiheadAttention` (ViT): parameters `qkv` (Linear
 * D -> 3D, bias = qkv_bias) and `proj` (Linear D -> D). x `[N, L, D]` -> `[N, L, D]`.
 */
export class MultiheadAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly attnDrop: Dropout;
  readonly projDrop: Dropout;
  readonly headDims: number;
  readonly scale: number;

  constructor(
    readonly embedDims: number,
    readonly numHeads: number,
    args: { qkvBias?: boolean; attnDrop?: number; projDrop?: number; qkScale?: number } = {},
  ) {
    super();
    if (embedDims % numHeads !== 0) throw new Error(`embed_dims ${embedDims} is not divisible by num_heads ${numHeads}`);
    this.headDims = embedDims / numHeads;
    this.scale = args.qkScale ?? this.headDims ** -0.5;
    this.qkv = this.registerModule('qkv', new Linear(embedDims, embedDims * 3, { bias: args.qkvBias ?? true }));
    this.attnDrop = this.registerModule('attn_drop', new Dropout(args.attnDrop ?? 0));
    this.proj = this.registerModule('proj', new Linear(embedDims, embedDims));
    this.projDrop = this.registerModule('proj_drop', new Dropout(args.projDrop ?? 0));
  }

  /** x `[N, L, D]` -> `[N, L, 3D]` (q, k, v); subclasses with their own biases override it. */
  protected projectQKV(x: Tensor3D): Tensor {
    return this.qkv.forward(x);
  }

  forward(x: Tensor3D): Tensor3D {
    const [n, l, d] = x.shape;
    const h = this.numHeads;
    const hd = this.headDims;
    // [N, L, 3, H, hd] -> [3, N, H, L, hd]
    const qkv = tf.transpose(tf.reshape(this.projectQKV(x), [n, l, 3, h, hd]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0) as Tensor[];
    const q3 = tf.reshape(q, [n * h, l, hd]) as Tensor3D;
    const k3 = tf.reshape(k, [n * h, l, hd]) as Tensor3D;
    const v3 = tf.reshape(v, [n * h, l, hd]) as Tensor3D;
    const qs = tf.mul(q3, this.scale) as Tensor3D;
    // one [N·H, L, L] tensor per layer (attention dropout needs the probabilities as a tensor of their own)
    const attended = this.attnDrop.training && this.attnDrop.p > 0
      ? tf.matMul(this.attnDrop.forward(tf.softmax(tf.matMul(qs, k3, false, true), -1)) as Tensor3D, v3)
      : scaledDotProductAttention(qs, k3, v3);
    const out = tf.reshape(tf.transpose(tf.reshape(attended, [n, h, l, hd]), [0, 2, 1, 3]), [n, l, d]);
    return this.projDrop.forward(this.proj.forward(out)) as Tensor3D;
  }
}
