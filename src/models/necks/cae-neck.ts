import { ConfigError } from '../../errors.js';
import { assignInit, constant, truncNormal, xavierUniform } from '../../engine/init.js';
import { ModuleList } from '../../engine/layers/container.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { Module } from '../../engine/module.js';
import { tf, type Tensor3D, type Variable } from '../../engine/tf.js';
import { defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { TransformerEncoderLayer } from '../backbones/vit.js';
import { CAETransformerRegressorLayer } from './cae-regressor-layer.js';

export interface CAENeckArgs {
  patch_size: number;
  num_classes: number;
  embed_dims: number;
  regressor_depth: number;
  decoder_depth: number;
  num_heads: number;
  mlp_ratio: number;
  qkv_bias: boolean;
  qk_scale: number | null;
  drop_rate: number;
  attn_drop_rate: number;
  drop_path_rate: number;
  norm_cfg: { type: string; eps?: number };
  init_values: number | null;
  mask_tokens_num: number;
}

const linspace = (to: number, n: number) => Array.from({ length: n }, (_, i) => (n > 1 ? (to * i) / (n - 1) : 0));

/**
 * MMSelfSup 0.x CAENeck: `mask_tokens_num` copies of `mask_token` go through the `regressors`
 * (cross-attention to the encoder's visible tokens and themselves, with position embeddings) and
 * `norm_regressor` — the latent prediction — then, with their position embeddings added, through
 * the `decoders` (MMSelfSup transformer layers), `norm_decoder` and `head` (Linear to num_classes,
 * the DALL-E vocabulary): the logits.
 */
export class CAENeck extends Module {
  readonly regressors: ModuleList<CAETransformerRegressorLayer>;
  readonly decoders: ModuleList<TransformerEncoderLayer>;
  readonly normRegressor: LayerNorm;
  readonly normDecoder: LayerNorm;
  readonly head: Linear;
  readonly maskToken: Variable;

  constructor(readonly args: CAENeckArgs) {
    super();
    const d = args.embed_dims;
    if (args.norm_cfg.type !== 'LN') throw new ConfigError(`CAENeck: norm_cfg type must be LN, got ${args.norm_cfg.type}`);
    if (d % args.num_heads !== 0) throw new ConfigError(`CAENeck: embed_dims ${d} must be divisible by num_heads ${args.num_heads}`);
    if (!(args.num_classes > 0)) throw new ConfigError(`CAENeck: num_classes must be > 0 (the tokenizer's vocabulary), got ${args.num_classes}`);
    const eps = args.norm_cfg.eps ?? 1e-6;
    const ff = Math.trunc(args.mlp_ratio * d);
    const initValues = args.init_values ?? 0;
    const reg = linspace(args.drop_path_rate, args.regressor_depth);
    this.regressors = this.registerModule('regressors', new ModuleList(reg.map((dpr) => new CAETransformerRegressorLayer(d, args.num_heads, ff, {
      qkvBias: args.qkv_bias, qkScale: args.qk_scale, dropRate: args.drop_rate, attnDropRate: args.attn_drop_rate, dropPathRate: dpr, initValues, eps,
    }))));
    const dec = linspace(args.drop_path_rate, args.decoder_depth);
    this.decoders = this.registerModule('decoders', new ModuleList(dec.map((dpr) => new TransformerEncoderLayer(d, args.num_heads, ff, {
      dropRate: args.drop_rate, dropPathRate: dpr, qkvBias: args.qkv_bias, eps, mmselfsup: { initValues },
    }))));
    this.normRegressor = this.registerModule('norm_regressor', new LayerNorm(d, eps));
    this.normDecoder = this.registerModule('norm_decoder', new LayerNorm(d, eps));
    this.head = this.registerModule('head', new Linear(d, args.num_classes));
    this.maskToken = this.registerParameter('mask_token', tf.zeros([1, 1, d]));
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        assignInit(m.weight, xavierUniform(m.weight.shape, 'linear'));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
    assignInit(this.maskToken, truncNormal(this.maskToken.shape, 0, 0.02));
    assignInit(this.head.weight, truncNormal(this.head.weight.shape, 0, 0.02));
  }

  /**
   * xUnmasked `[N, K, D]` (encoder output without cls), pos embeddings of the masked `[N, M, D]` and
   * unmasked `[N, K, D]` patches -> logits `[N, M, num_classes]` and the latent prediction `[N, M, D]`.
   */
  forward(xUnmasked: Tensor3D, posMasked: Tensor3D, posUnmasked: Tensor3D): { logits: Tensor3D; latentPred: Tensor3D } {
    const [n, m] = posMasked.shape;
    if (m !== this.args.mask_tokens_num) {
      throw new ConfigError(`CAENeck: mask_tokens_num ${this.args.mask_tokens_num} must equal the masked patches per image, ${m} (the mask generator's num_masking_patches)`);
    }
    let x = tf.tile(this.maskToken, [n, m, 1]) as Tensor3D;
    const posK = tf.concat([posUnmasked, posMasked], 1) as Tensor3D;
    for (let i = 0; i < this.args.regressor_depth; i++) x = this.regressors.at(i).forward(x, tf.concat([xUnmasked, x], 1) as Tensor3D, posMasked, posK);
    const latentPred = this.normRegressor.forward(x) as Tensor3D;
    let y = tf.add(latentPred, posMasked) as Tensor3D;
    for (let i = 0; i < this.args.decoder_depth; i++) y = this.decoders.at(i).forward(y);
    return { logits: this.head.forward(this.normDecoder.forward(y)) as Tensor3D, latentPred };
  }
}

export const caeNeckEntry = defineComponent({
  type: 'CAENeck',
  args: {
    patch_size: 16, num_classes: 8192, embed_dims: 768, regressor_depth: 6, decoder_depth: 8, num_heads: 12, mlp_ratio: 4, qkv_bias: true,
    qk_scale: null as number | null, drop_rate: 0, attn_drop_rate: 0, drop_path_rate: 0, norm_cfg: { type: 'LN', eps: 1e-6 } as { type: string; eps?: number },
    init_values: null as number | null, mask_tokens_num: 75, init_cfg: undefined as unknown,
  },
  build: (a) => new CAENeck(a as CAENeckArgs) as unknown as ListModule,
});
