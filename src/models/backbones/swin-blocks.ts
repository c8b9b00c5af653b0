import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { Module } from '../../engine/module.js';
import { ModuleList } from '../../engine/layers/container.js';
import { DropPath } from '../../engine/layers/dropout.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { FFN } from '../../engine/layers/mlp.js';
import { tf, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { ShiftWindowMSA } from './swin-attention.js';

type Dict = Record<string, unknown>;

/** mmcv build_norm_layer for Swin: only LN (eps 1e-5 unless given). */
export function layerNormOf(where: string, cfg: unknown, c: number): LayerNorm {
  const n = (cfg ?? { type: 'LN' }) as { type?: string; eps?: number };
  if (n.type !== 'LN') throw new ConfigError(`SwinTransformer: ${where} type must be LN, got ${JSON.stringify(n.type)}`);
  return new LayerNorm(c, n.eps ?? 1e-5);
}

/** The mmcls SwinBlock keys a `block_cfgs` entry may set. */
export const SWIN_BLOCK_KEYS = ['window_size', 'shift', 'ffn_ratio', 'drop_path', 'pad_small_map', 'attn_cfgs', 'ffn_cfgs', 'norm_cfg', 'with_cp', 'init_cfg'];

/**
 * mmcls SwinBlock: x + ShiftWindowMSA(norm1(x)) then x + FFN(norm2(x)), DropPath on both branches
 * (the attention's inside ShiftWindowMSA, as mmcls). `shift` blocks use shift_size = window_size / 2.
 */
export class SwinBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: ShiftWindowMSA;
  readonly norm2: LayerNorm;
  readonly ffn: FFN;
  readonly ffnDropPath: DropPath;

  constructor(embedDims: number, numHeads: number, cfg: Dict) {
    super();
    checkArgs('SwinBlock (stage_cfgs.block_cfgs)', cfg, SWIN_BLOCK_KEYS);
    const ws = (cfg.window_size as number) ?? 7;
    if (!Number.isInteger(ws) || ws < 1) throw new ConfigError(`SwinTransformer: window_size must be a positive integer, got ${JSON.stringify(cfg.window_size)}`);
    const attnCfgs = (cfg.attn_cfgs ?? {}) as Dict;
    checkArgs('SwinBlock attn_cfgs', attnCfgs, ['qkv_bias', 'qk_scale', 'attn_drop', 'proj_drop']);
    for (const k of ['attn_drop', 'proj_drop']) {
      if (attnCfgs[k]) throw new ConfigError(`SwinTransformer: attn_cfgs.${k} ${String(attnCfgs[k])} is not supported; leave it 0`);
    }
    const ffnCfgs = (cfg.ffn_cfgs ?? {}) as Dict;
    checkArgs('SwinBlock ffn_cfgs', ffnCfgs, ['ffn_drop']);
    const dropPath = (cfg.drop_path as number) ?? 0;
    this.norm1 = this.registerModule('norm1', layerNormOf('norm_cfg', cfg.norm_cfg, embedDims));
    this.attn = this.registerModule('attn', new ShiftWindowMSA(embedDims, numHeads, ws, {
      shiftSize: cfg.shift ? Math.floor(ws / 2) : 0,
      dropPath,
      padSmallMap: Boolean(cfg.pad_small_map),
      qkvBias: (attnCfgs.qkv_bias as boolean) ?? true,
      qkScale: attnCfgs.qk_scale as number | null,
    }));
    this.norm2 = this.registerModule('norm2', layerNormOf('norm_cfg', cfg.norm_cfg, embedDims));
    this.ffn = this.registerModule('ffn', new FFN(embedDims, Math.trunc(embedDims * ((cfg.ffn_ratio as number) ?? 4)), { ffnDrop: (ffnCfgs.ffn_drop as number) ?? 0 }));
    this.ffnDropPath = new DropPath(dropPath);
  }

  override train(mode = true): this {
    super.train(mode);
    this.ffnDropPath.train(mode);
    return this;
  }

  forward(x: Tensor3D, hw: [number, number]): Tensor3D {
    // Inside a gradient tape every intermediate would live until the backward pass; the kernels keep
    // what their gradients need, so the block's scratch (reshapes, rolls, window copies) is freed here.
    return tf.tidy(() => {
      const a = tf.add(x, this.attn.forward(this.norm1.forward(x) as Tensor3D, hw)) as Tensor3D;
      return tf.add(a, this.ffnDropPath.forward(this.ffn.forward(this.norm2.forward(a)))) as Tensor3D;
    });
  }
}

/**
 * mmcv PatchMerging (kernel 2, stride 2, 'corner' padding, no bias): each 2×2 neighbourhood's
 * channels in nn.Unfold's order (c, kh, kw) -> `norm` LN(4C) -> `reduction` Linear(4C, out).
 */
export class PatchMerging extends Module {
  readonly norm: LayerNorm;
  readonly reduction: Linear;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    cfg: Dict = {},
  ) {
    super();
    checkArgs('PatchMerging (stage_cfgs.downsample_cfg)', cfg, ['in_channels', 'out_channels', 'norm_cfg', 'kernel_size', 'stride', 'padding', 'bias', 'init_cfg']);
    for (const k of ['kernel_size', 'stride']) {
      if (cfg[k] !== undefined && cfg[k] !== null && cfg[k] !== 2) throw new ConfigError(`SwinTransformer: downsample_cfg.${k} ${String(cfg[k])} is not supported; only 2`);
    }
    if (cfg.padding !== undefined && cfg.padding !== 'corner') throw new ConfigError(`SwinTransformer: downsample_cfg.padding must be 'corner', got ${JSON.stringify(cfg.padding)}`);
    this.norm = this.registerModule('norm', layerNormOf('downsample_cfg.norm_cfg', cfg.norm_cfg, 4 * inChannels));
    this.reduction = this.registerModule('reduction', new Linear(4 * inChannels, outChannels, { bias: Boolean(cfg.bias) }));
  }

  forward(x: Tensor3D, hw: [number, number]): [Tensor3D, [number, number]] {
    const [b, , c] = x.shape;
    const [h, w] = hw;
    let m = tf.reshape(x, [b, h, w, c]) as Tensor4D;
    const [ph, pw] = [h % 2, w % 2];
    if (ph || pw) m = tf.pad(m, [[0, 0], [0, ph], [0, pw], [0, 0]]);
    const [oh, ow] = [(h + ph) / 2, (w + pw) / 2];
    const merged = tf.reshape(tf.transpose(tf.reshape(m, [b, oh, 2, ow, 2, c]), [0, 1, 3, 5, 2, 4]), [b, oh * ow, 4 * c]);
    return [this.reduction.forward(this.norm.forward(merged)) as Tensor3D, [oh, ow]];
  }
}

/** mmcls SwinBlockSequence: `blocks` (alternating W-MSA / SW-MSA) then an optional `downsample` PatchMerging. */
export class SwinBlockSequence extends Module {
  readonly blocks: ModuleList<SwinBlock>;
  readonly downsample: PatchMerging | null;

  constructor(
    readonly embedDims: number,
    depth: number,
    numHeads: number,
    o: { windowSize: number; downsample: boolean; downsampleCfg: Dict; dropPaths: number[]; blockCfgs: Dict | Dict[]; padSmallMap: boolean },
  ) {
    super();
    const blocks: SwinBlock[] = [];
    for (let i = 0; i < depth; i++) {
      const own = Array.isArray(o.blockCfgs) ? o.blockCfgs[i] : o.blockCfgs;
      if (own === undefined) throw new ConfigError(`SwinTransformer: stage_cfgs.block_cfgs has ${(o.blockCfgs as Dict[]).length} entries for ${depth} blocks`);
      blocks.push(new SwinBlock(embedDims, numHeads, { window_size: o.windowSize, shift: i % 2 === 1, drop_path: o.dropPaths[i], pad_small_map: o.padSmallMap, ...own }));
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.downsample = o.downsample ? this.registerModule('downsample', new PatchMerging(embedDims, (o.downsampleCfg.out_channels as number) ?? 2 * embedDims, o.downsampleCfg)) : null;
  }

  get outChannels(): number {
    return this.downsample ? this.downsample.outChannels : this.embedDims;
  }

  forward(x: Tensor3D, hw: [number, number], doDownsample = true): [Tensor3D, [number, number]] {
    let y = x;
    for (let i = 0; i < this.blocks.length; i++) y = this.blocks.at(i).forward(y, hw);
    return this.downsample && doDownsample ? this.downsample.forward(y, hw) : [y, hw];
  }
}
