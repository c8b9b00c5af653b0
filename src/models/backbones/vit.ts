import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant, normal, truncNormal, uniform, xavierUniform } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { MultiheadAttention } from '../../engine/layers/attention.js';
import { ModuleList } from '../../engine/layers/container.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { Dropout, DropPath } from '../../engine/layers/dropout.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { FFN } from '../../engine/layers/mlp.js';
import { tf, type Tensor, type Tensor2D, type Tensor3D, type Tensor4D, type Variable } from '../../engine/tf.js';
import { QVBiasAttention } from './qv-bias-attention.js';
import { MultiheadAttentionWithRPE } from './rpe-attention.js';

interface ArchSpec {
  embed_dims: number;
  num_layers: number;
  num_heads: number;
  feedforward_channels: number;
}

const ARCH_ZOO: Record<string, ArchSpec> = {};
const arch = (names: string[], spec: ArchSpec) => names.forEach((n) => (ARCH_ZOO[n] = spec));
// mmcls 0.x arch_zoo plus MMSelfSup's mocov3-small.
arch(['s', 'small'], { embed_dims: 768, num_layers: 8, num_heads: 8, feedforward_channels: 768 * 3 });
arch(['b', 'base'], { embed_dims: 768, num_layers: 12, num_heads: 12, feedforward_channels: 3072 });
arch(['l', 'large'], { embed_dims: 1024, num_layers: 24, num_heads: 16, feedforward_channels: 4096 });
arch(['h', 'huge'], { embed_dims: 1280, num_layers: 32, num_heads: 16, feedforward_channels: 5120 });
arch(['deit-t', 'deit-tiny'], { embed_dims: 192, num_layers: 12, num_heads: 3, feedforward_channels: 192 * 4 });
arch(['deit-s', 'deit-small'], { embed_dims: 384, num_layers: 12, num_heads: 6, feedforward_channels: 384 * 4 });
arch(['deit-b', 'deit-base'], { embed_dims: 768, num_layers: 12, num_heads: 12, feedforward_channels: 768 * 4 });
arch(['mocov3-s', 'mocov3-small'], { embed_dims: 384, num_layers: 12, num_heads: 12, feedforward_channels: 1536 });

/** MMSelfSup 0.x VisionTransformer arguments (+ `pos_embed_type`, an ssl extension). */
export interface ViTArgs {
  arch?: string | ArchSpec;
  img_size?: number;
  patch_size?: number;
  in_channels?: number;
  out_indices?: number | number[];
  drop_rate?: number;
  drop_path_rate?: number;
  qkv_bias?: boolean;
  norm_cfg?: { type: string; eps?: number };
  final_norm?: boolean;
  output_cls_token?: boolean;
  interpolate_mode?: string;
  patch_cfg?: Record<string, unknown>;
  layer_cfgs?: Record<string, unknown>;
  stop_grad_conv1?: boolean;
  frozen_stages?: number;
  norm_eval?: boolean;
  init_cfg?: unknown;
  /** 'sincos' (MMSelfSup's fixed 2-D sin-cos, default) or 'learned' (trunc-normal, trained). */
  pos_embed_type?: 'sincos' | 'learned';
}

export const VIT_ARG_NAMES = [
  'arch', 'img_size', 'patch_size', 'in_channels', 'out_indices', 'drop_rate', 'drop_path_rate', 'qkv_bias', 'norm_cfg', 'final_norm',
  'output_cls_token', 'interpolate_mode', 'patch_cfg', 'layer_cfgs', 'stop_grad_conv1', 'frozen_stages', 'norm_eval', 'init_cfg', 'pos_embed_type',
] as const;

/** Options of a TransformerEncoderLayer; `mmselfsup` selects MMSelfSup's own layer (models/utils/transformer_blocks.py). */
export interface EncoderLayerOptions {
  dropRate: number;
  dropPathRate: number;
  qkvBias: boolean;
  eps: number;
  /** MMSelfSup's TransformerEncoderLayer: q/v biases when qkv_bias=False, layer scale gamma_1/gamma_2 = init_values when > 0. */
  mmselfsup?: { initValues: number; windowSize?: [number, number] };
}

/**
 * mmcls TransformerEncoderLayer: x + attn(ln1(x)), then x + ffn(ln2(x)); DropPath on both branches.
 * With `mmselfsup`, MMSelfSup's subclass: its attention (QVBiasAttention) and, for init_values > 0,
 * x + gamma_1 · attn(ln1(x)), x + gamma_2 · ffn(ln2(x)).
 */
export class TransformerEncoderLayer extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiheadAttention;
  readonly ln2: LayerNorm;
  readonly ffn: FFN;
  readonly dropPath: DropPath;
  readonly gamma1: Variable | null = null;
  readonly gamma2: Variable | null = null;

  constructor(d: number, heads: number, ff: number, o: EncoderLayerOptions) {
    super();
    this.ln1 = this.registerModule('ln1', new LayerNorm(d, o.eps));
    const win = o.mmselfsup?.windowSize;
    this.attn = this.registerModule('attn', win
      ? new MultiheadAttentionWithRPE(d, heads, win, { qkvBias: o.qkvBias, projDrop: o.dropRate })
      : o.mmselfsup
        ? new QVBiasAttention(d, heads, { qkvBias: o.qkvBias, projDrop: o.dropRate })
        : new MultiheadAttention(d, heads, { qkvBias: o.qkvBias, projDrop: o.dropRate }));
    this.ln2 = this.registerModule('ln2', new LayerNorm(d, o.eps));
    this.ffn = this.registerModule('ffn', new FFN(d, ff, { ffnDrop: o.dropRate }));
    this.dropPath = this.registerModule('drop_path', new DropPath(o.dropPathRate));
    const init = o.mmselfsup?.initValues ?? 0;
    if (init > 0) {
      this.gamma1 = this.registerParameter('gamma_1', tf.fill([d], init));
      this.gamma2 = this.registerParameter('gamma_2', tf.fill([d], init));
    }
  }

  forward(x: Tensor3D): Tensor3D {
    const scale = (g: Variable | null, t: Tensor) => (g ? tf.mul(g, t) : t);
    const a = tf.add(x, this.dropPath.forward(scale(this.gamma1, this.attn.forward(this.ln1.forward(x) as Tensor3D)))) as Tensor3D;
    return tf.add(a, this.dropPath.forward(scale(this.gamma2, this.ffn.forward(this.ln2.forward(a))))) as Tensor3D;
  }
}

/** One output of the ViT: NHWC patch tokens `[N, h, w, D]`, with the cls token `[N, D]` when output_cls_token. */
export type ViTOutput = Tensor4D | [Tensor4D, Tensor2D];

/**
 * MMSelfSup's VisionTransformer (mmcls ViT + fixed 2-D sin-cos position embedding, MoCo v3 init,
 * stop_grad_conv1, frozen_stages). Input NHWC `[N, H, W, C]` with H = W = img_size.
 * `forward(x, mask)` replaces masked patches (`mask` `[N, h·w]`, 1 = masked) by `mask_token`
 * (only when built with a mask token, e.g. type MaskFeatViT).
 */
export class VisionTransformer extends Module {
  readonly embedDims: number;
  readonly numLayers: number;
  readonly patchSize: number;
  readonly patchResolution: [number, number];
  readonly outIndices: number[];
  readonly outputClsToken: boolean;
  readonly frozenStages: number;
  readonly patchEmbed: Module & { projection: Conv2d };
  readonly clsToken: Variable;
  readonly posEmbed: Variable;
  readonly maskToken: Variable | null;
  readonly dropAfterPos: Dropout;
  readonly layers: ModuleList<TransformerEncoderLayer>;
  readonly ln1: LayerNorm | null;

  constructor(args: ViTArgs, options: { typeName?: string; maskToken?: boolean; mmselfsupLayers?: { initValues: number; useWindow?: boolean } } = {}) {
    super();
    const type = options.typeName ?? 'VisionTransformer';
    const spec = typeof args.arch === 'object' ? args.arch : ARCH_ZOO[(args.arch ?? 'base').toLowerCase()];
    if (!spec) throw new ConfigError(`${type}: unknown arch "${String(args.arch)}"; choose one of ${Object.keys(ARCH_ZOO).join(', ')} or give a dict`);
    for (const k of ['embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'] as const) {
      if (typeof spec[k] !== 'number') throw new ConfigError(`${type}: a custom arch needs ${k}`);
    }
    const d = (this.embedDims = spec.embed_dims);
    this.numLayers = spec.num_layers;
    const img = args.img_size ?? 224;
    this.patchSize = args.patch_size ?? 16;
    if (img % this.patchSize !== 0) throw new ConfigError(`${type}: img_size ${img} must be a multiple of patch_size ${this.patchSize}`);
    this.patchResolution = [img / this.patchSize, img / this.patchSize];
    const numPatches = this.patchResolution[0] * this.patchResolution[1];
    const outIndices = Array.isArray(args.out_indices) ? args.out_indices : [args.out_indices ?? -1];
    this.outIndices = outIndices.map((i) => (i < 0 ? this.numLayers + i : i));
    for (const i of this.outIndices) if (i < 0 || i >= this.numLayers) throw new ConfigError(`${type}: out_indices ${i} is out of range for ${this.numLayers} layers`);
    this.outputClsToken = args.output_cls_token ?? true;
    this.frozenStages = args.frozen_stages ?? -1;
    const eps = args.norm_cfg?.eps ?? 1e-6;
    if (args.norm_cfg && args.norm_cfg.type !== 'LN') throw new ConfigError(`${type}: norm_cfg type must be LN`);

    const patchEmbed = new (class PatchEmbed extends Module {
      readonly projection: Conv2d;
      constructor(inC: number, p: number) {
        super();
        this.projection = this.registerModule('projection', new Conv2d(inC, d, p, { stride: p }));
      }
      forward(x: Tensor4D): Tensor4D {
        return this.projection.forward(x);
      }
    })(args.in_channels ?? 3, this.patchSize);
    this.patchEmbed = this.registerModule('patch_embed', patchEmbed);
    this.clsToken = this.registerParameter('cls_token', tf.zeros([1, 1, d]));
    this.posEmbed = this.registerParameter('pos_embed', tf.zeros([1, numPatches + 1, d]));
    this.maskToken = options.maskToken ? this.registerParameter('mask_token', tf.zeros([1, 1, d])) : null;
    this.dropAfterPos = this.registerModule('drop_after_pos', new Dropout(args.drop_rate ?? 0));
    const dprMax = args.drop_path_rate ?? 0;
    const layers: TransformerEncoderLayer[] = [];
    for (let i = 0; i < this.numLayers; i++) {
      const dpr = this.numLayers > 1 ? (dprMax * i) / (this.numLayers - 1) : 0;
      layers.push(new TransformerEncoderLayer(d, spec.num_heads, spec.feedforward_channels, { dropRate: args.drop_rate ?? 0, dropPathRate: dpr, qkvBias: args.qkv_bias ?? true, eps, mmselfsup: options.mmselfsupLayers && { initValues: options.mmselfsupLayers.initValues, windowSize: options.mmselfsupLayers.useWindow ? this.patchResolution : undefined } }));
    }
    this.layers = this.registerModule('layers', new ModuleList(layers));
    this.ln1 = (args.final_norm ?? true) ? this.registerModule('ln1', new LayerNorm(d, eps)) : null;

    this.initWeights(args.pos_embed_type ?? 'sincos');
    if (args.stop_grad_conv1) this.patchEmbed.projection.requiresGrad(false);
    this.train(true);
  }

  /** MMSelfSup VisionTransformer.init_weights (MoCo v3): sin-cos pos_embed (frozen), uniform patch/qkv, xavier linears. */
  private initWeights(posEmbedType: 'sincos' | 'learned'): void {
    if (posEmbedType === 'sincos') {
      assignInit(this.posEmbed, sincosPositionEmbedding(this.patchResolution, this.embedDims, true));
      this.posEmbed.trainable = false;
    } else {
      assignInit(this.posEmbed, truncNormal(this.posEmbed.shape, 0, 0.02));
    }
    const proj = this.patchEmbed.projection;
    const val = Math.sqrt(6 / (3 * this.patchSize * this.patchSize + this.embedDims));
    assignInit(proj.weight, uniform(proj.weight.shape, -val, val));
    assignInit(proj.bias!, constant(proj.bias!.shape, 0));
    for (const [name, m] of this.namedModules()) {
      if (!(m instanceof Linear)) continue;
      if (name.includes('qkv')) {
        const v = Math.sqrt(6 / (m.outFeatures / 3 + m.inFeatures));
        assignInit(m.weight, uniform(m.weight.shape, -v, v));
      } else {
        assignInit(m.weight, xavierUniform(m.weight.shape, 'linear'));
      }
      if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
    }
    assignInit(this.clsToken, normal(this.clsToken.shape, 0, 1e-6));
    if (this.maskToken) assignInit(this.maskToken, truncNormal(this.maskToken.shape, 0, 0.02));
  }

  /** x `[N, H, W, C]` (H = W = img_size), mask `[N, h·w]` -> one ViTOutput per out_index. */
  forward(x: Tensor4D, mask?: Tensor): ViTOutput[] {
    const [n] = x.shape;
    const [h, w] = this.patchResolution;
    if (x.shape[1] !== h * this.patchSize || x.shape[2] !== w * this.patchSize) {
      throw new ConfigError(`VisionTransformer built for ${h * this.patchSize}×${w * this.patchSize} inputs got ${x.shape[1]}×${x.shape[2]}`);
    }
    let tokens = tf.reshape(this.patchEmbed.projection.forward(x), [n, h * w, this.embedDims]) as Tensor3D;
    if (mask) {
      if (!this.maskToken) throw new ConfigError('this VisionTransformer has no mask_token; masking needs a masked-image backbone (e.g. MaskFeatViT)');
      const m = tf.reshape(tf.cast(mask, 'float32'), [n, h * w, 1]);
      tokens = tf.add(tf.mul(tokens, tf.sub(1, m)), tf.mul(this.maskToken, m)) as Tensor3D;
    }
    const cls = tf.tile(this.clsToken, [n, 1, 1]);
    let y = this.dropAfterPos.forward(tf.add(tf.concat([cls, tokens], 1), this.posEmbed)) as Tensor3D;
    const outs: ViTOutput[] = [];
    for (let i = 0; i < this.numLayers; i++) {
      y = this.layers.at(i).forward(y);
      if (i === this.numLayers - 1 && this.ln1) y = this.ln1.forward(y) as Tensor3D;
      if (this.outIndices.includes(i)) {
        const patch = tf.reshape(tf.slice(y, [0, 1, 0], [-1, -1, -1]), [n, h, w, this.embedDims]) as Tensor4D;
        outs.push(this.outputClsToken ? [patch, tf.reshape(tf.slice(y, [0, 0, 0], [-1, 1, -1]), [n, this.embedDims]) as Tensor2D] : patch);
      }
    }
    return outs;
  }

  override train(mode = true): this {
    super.train(mode);
    if (this.frozenStages >= 0 && this.layers) {
      this.patchEmbed.eval().requiresGrad(false);
      this.clsToken.trainable = false;
      this.posEmbed.trainable = false;
      for (let i = 0; i < Math.min(this.frozenStages, this.numLayers); i++) this.layers.at(i).eval().requiresGrad(false);
      if (this.frozenStages >= this.numLayers && this.ln1) this.ln1.eval().requiresGrad(false);
    }
    return this;
  }
}

/**
 * MMSelfSup's build_2d_sincos_position_embedding `[1, (cls) + h·w, D]`: D/4 frequencies,
 * [sin(w·ω), cos(w·ω), sin(h·ω), cos(h·ω)] with torch.meshgrid's 'ij' order (token m -> (m div h, m mod h)).
 */
export function sincosPositionEmbedding(resolution: [number, number], d: number, clsToken: boolean, temperature = 10000): Tensor {
  if (d % 4 !== 0) throw new ConfigError(`embed_dims ${d} must be divisible by 4 for the 2-D sin-cos position embedding`);
  const [h, w] = resolution;
  const posDim = d / 4;
  const rows = clsToken ? h * w + 1 : h * w;
  const out = new Float32Array(rows * d);
  const omega = Array.from({ length: posDim }, (_, i) => 1 / temperature ** (i / posDim));
  for (let m = 0; m < h * w; m++) {
    const gw = Math.floor(m / h);
    const gh = m % h;
    const base = (m + (clsToken ? 1 : 0)) * d;
    for (let j = 0; j < posDim; j++) {
      out[base + j] = Math.sin(gw * omega[j]);
      out[base + posDim + j] = Math.cos(gw * omega[j]);
      out[base + 2 * posDim + j] = Math.sin(gh * omega[j]);
      out[base + 3 * posDim + j] = Math.cos(gh * omega[j]);
    }
  }
  return tf.tensor3d(out, [1, rows, d]);
}

export function buildVisionTransformer(args: Record<string, unknown>): VisionTransformer {
  checkArgs('VisionTransformer', args, VIT_ARG_NAMES);
  return new VisionTransformer(args as ViTArgs);
}
