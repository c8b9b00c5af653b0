import { ConfigError } from '../../errors.js';
import { assignInit, constant, normal, xavierUniform } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { ModuleList } from '../../engine/layers/container.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor2D, type Tensor3D, type Variable } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { sincosPositionEmbedding, TransformerEncoderLayer } from '../backbones/vit.js';
import { gatherTokens } from '../tokens.js';

export interface MAEPretrainDecoderArgs {
  num_patches: number;
  patch_size: number;
  in_chans: number;
  embed_dim: number;
  decoder_embed_dim: number;
  decoder_depth: number;
  decoder_num_heads: number;
  mlp_ratio: number;
  norm_cfg: { type: string; eps?: number };
}

/**
 * MMSelfSup's MAEPretrainDecoder: `decoder_embed`, a learnable `mask_token` filling the removed
 * patches (unshuffled by `ids_restore`), fixed sin-cos `decoder_pos_embed`, `decoder_blocks`
 * (mmcls TransformerEncoderLayer), `ln1` and `decoder_pred` to patch pixels. Returns `[N, L, p²·C]`.
 */
export class MAEPretrainDecoder extends Module {
  readonly decoderEmbed: Linear;
  readonly maskToken: Variable;
  readonly decoderPosEmbed: Variable;
  readonly decoderBlocks: ModuleList<TransformerEncoderLayer>;
  readonly decoderNorm: LayerNorm;
  readonly decoderPred: Linear;

  constructor(readonly args: MAEPretrainDecoderArgs) {
    super();
    const side = Math.round(Math.sqrt(args.num_patches));
    if (side * side !== args.num_patches) throw new ConfigError(`MAEPretrainDecoder: num_patches ${args.num_patches} must be a square (img_size / patch_size squared)`);
    if (args.norm_cfg.type !== 'LN') throw new ConfigError(`MAEPretrainDecoder: norm_cfg type must be LN, got ${args.norm_cfg.type}`);
    const d = args.decoder_embed_dim;
    const eps = args.norm_cfg.eps ?? 1e-5;
    this.decoderEmbed = this.registerModule('decoder_embed', new Linear(args.embed_dim, d));
    this.maskToken = this.registerParameter('mask_token', tf.zeros([1, 1, d]));
    this.decoderPosEmbed = this.registerParameter('decoder_pos_embed', sincosPositionEmbedding([side, side], d, true), { requiresGrad: false });
    const blocks = Array.from({ length: args.decoder_depth }, () =>
      new TransformerEncoderLayer(d, args.decoder_num_heads, Math.trunc(args.mlp_ratio * d), { dropRate: 0, dropPathRate: 0, qkvBias: true, eps }));
    this.decoderBlocks = this.registerModule('decoder_blocks', new ModuleList(blocks));
    this.decoderNorm = this.registerModule('ln1', new LayerNorm(d, eps));
    this.decoderPred = this.registerModule('decoder_pred', new Linear(d, args.patch_size ** 2 * args.in_chans));
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        assignInit(m.weight, xavierUniform(m.weight.shape, 'linear'));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
    assignInit(this.maskToken, normal(this.maskToken.shape, 0, 0.02));
  }

  /** latent `[N, 1 + K, D_enc]` (cls first), idsRestore `[N, L]` -> predicted pixels `[N, L, p²·C]`. */
  forward(latent: Tensor3D, idsRestore: Tensor2D): Tensor3D {
    const x = this.decoderEmbed.forward(latent) as Tensor3D;
    const [n, k1, d] = x.shape;
    const l = idsRestore.shape[1];
    if (l !== this.args.num_patches) throw new ConfigError(`MAEPretrainDecoder: built for num_patches ${this.args.num_patches}, the encoder gives ${l}`);
    const masked = tf.tile(this.maskToken, [n, l + 1 - k1, 1]);
    const tokens = gatherTokens(tf.concat([tf.slice(x, [0, 1, 0], [n, k1 - 1, d]), masked], 1) as Tensor3D, idsRestore);
    let y = tf.add(tf.concat([tf.slice(x, [0, 0, 0], [n, 1, d]), tokens], 1), this.decoderPosEmbed) as Tensor3D;
    for (let i = 0; i < this.args.decoder_depth; i++) y = this.decoderBlocks.at(i).forward(y);
    y = this.decoderPred.forward(this.decoderNorm.forward(y)) as Tensor3D;
    return tf.slice(y, [0, 1, 0], [n, l, -1]) as Tensor3D;
  }
}

export const maePretrainDecoderEntry = defineComponent({
  type: 'MAEPretrainDecoder',
  args: {
    num_patches: 196, patch_size: 16, in_chans: 3, embed_dim: 1024, decoder_embed_dim: 512, decoder_depth: 8, decoder_num_heads: 16, mlp_ratio: 4,
    norm_cfg: { type: 'LN', eps: 1e-6 } as { type: string; eps?: number }, init_cfg: undefined as unknown,
  },
  build: (a) => new MAEPretrainDecoder(a as MAEPretrainDecoderArgs) as unknown as ListModule,
});
