import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, truncNormal } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { ModuleList } from '../../engine/layers/container.js';
import { Dropout } from '../../engine/layers/dropout.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D, type Variable } from '../../engine/tf.js';
import { SwinBlockSequence, layerNormOf } from './swin-blocks.js';

type Dict = Record<string, unknown>;

export interface SwinArchSpec {
  embed_dims: number;
  depths: number[];
  num_heads: number[];
}

const ARCH_ZOO: Record<string, SwinArchSpec> = {};
const arch = (names: string[], spec: SwinArchSpec) => names.forEach((n) => (ARCH_ZOO[n] = spec));
// mmcls 0.x SwinTransformer.arch_zoo
arch(['t', 'tiny'], { embed_dims: 96, depths: [2, 2, 6, 2], num_heads: [3, 6, 12, 24] });
arch(['s', 'small'], { embed_dims: 96, depths: [2, 2, 18, 2], num_heads: [3, 6, 12, 24] });
arch(['b', 'base'], { embed_dims: 128, depths: [2, 2, 18, 2], num_heads: [4, 8, 16, 32] });
arch(['l', 'large'], { embed_dims: 192, depths: [2, 2, 18, 2], num_heads: [6, 12, 24, 48] });

/** mmcls 0.x SwinTransformer arguments. */
export const SWIN_ARG_NAMES = [
  'arch', 'img_size', 'patch_size', 'in_channels', 'window_size', 'drop_rate', 'drop_path_rate', 'out_indices', 'out_after_downsample',
  'use_abs_pos_embed', 'interpolate_mode', 'auto_pad', 'with_cp', 'frozen_stages', 'norm_eval', 'pad_small_map', 'norm_cfg', 'stage_cfgs', 'patch_cfg', 'init_cfg',
] as const;

const STAGE_KEYS = ['window_size', 'downsample_cfg', 'block_cfgs', 'with_cp', 'pad_small_map', 'init_cfg'];

/** mmcv PatchEmbed as Swin builds it: `projection` Conv2d(k = stride = patch_size) then `norm` LN. */
class PatchEmbed extends Module {
  readonly projection: Conv2d;
  readonly norm: LayerNorm;

  constructor(inChannels: number, embedDims: number, patchSize: number, normCfg: unknown) {
    super();
    this.projection = this.registerModule('projection', new Conv2d(inChannels, embedDims, patchSize, { stride: patchSize }));
    this.norm = this.registerModule('norm', layerNormOf('patch_cfg.norm_cfg', normCfg, embedDims));
  }

  /** NHWC `[B, H, W, C]` -> tokens `[B, h·w, D]` (row-major) and `[h, w]`. */
  forward(x: Tensor4D): [Tensor3D, [number, number]] {
    const y = this.projection.forward(x);
    const [b, h, w, d] = y.shape;
    return [this.norm.forward(tf.reshape(y, [b, h * w, d])) as Tensor3D, [h, w]];
  }
}

/**
 * mmcls 0.x SwinTransformer (the version with `pad_small_map`, MMSelfSup 0.x's): patch embedding,
 * four stages of shifted-window blocks with relative position bias, PatchMerging between stages,
 * `norm{i}` on each out_index. Input NHWC `[B, H, W, C]`; one NHWC `[B, h, w, C_i]` per out_index.
 */
export class SwinTransformer extends Module {
  readonly embedDims: number;
  readonly depths: number[];
  readonly numHeads: number[];
  readonly patchSize: number;
  readonly imgSize: [number, number];
  readonly patchResolution: [number, number];
  readonly outIndices: number[];
  readonly outAfterDownsample: boolean;
  readonly frozenStages: number;
  /** Channels of each stage's output (after its downsample when out_after_downsample). */
  readonly numFeatures: number[];
  readonly patchEmbed: PatchEmbed;
  readonly absolutePosEmbed: Variable | null;
  readonly dropAfterPos: Dropout;
  readonly stages: ModuleList<SwinBlockSequence>;
  readonly norms = new Map<number, LayerNorm>();

  constructor(args: Dict, readonly typeName = 'SwinTransformer') {
    super();
    const type = typeName;
    const a = args.arch ?? 'T';
    const spec = typeof a === 'object' && a !== null ? (a as SwinArchSpec) : ARCH_ZOO[String(a).toLowerCase()];
    if (!spec) throw new ConfigError(`${type}: unknown arch ${JSON.stringify(a)}; choose one of ${Object.keys(ARCH_ZOO).join(', ')} or give a dict`);
    if (typeof a === 'object') {
      const keys = Object.keys(spec).sort().join(', ');
      if (keys !== 'depths, embed_dims, num_heads') throw new ConfigError(`${type}: a custom arch needs exactly embed_dims, depths and num_heads, got ${keys}`);
      if (!Array.isArray(spec.depths) || !Array.isArray(spec.num_heads) || spec.depths.length !== spec.num_heads.length) {
        throw new ConfigError(`${type}: arch.depths and arch.num_heads must be lists of the same length`);
      }
    }
    this.embedDims = spec.embed_dims;
    this.depths = [...spec.depths];
    this.numHeads = [...spec.num_heads];
    const numLayers = this.depths.length;
    const size = args.img_size ?? 224;
    this.imgSize = Array.isArray(size) ? [size[0] as number, size[1] as number] : [size as number, size as number];
    this.patchSize = (args.patch_size as number) ?? 4;
    for (const s of this.imgSize) {
      if (!Number.isInteger(s) || s % this.patchSize !== 0) throw new ConfigError(`${type}: img_size ${JSON.stringify(size)} must be a multiple of patch_size ${this.patchSize}`);
    }
    this.patchResolution = [this.imgSize[0] / this.patchSize, this.imgSize[1] / this.patchSize];
    const outIdx = args.out_indices ?? [3];
    this.outIndices = (Array.isArray(outIdx) ? outIdx : [outIdx]).map((i) => ((i as number) < 0 ? numLayers + (i as number) : (i as number)));
    for (const i of this.outIndices) if (!(i >= 0 && i < numLayers)) throw new ConfigError(`${type}: out_indices ${i} is out of range for ${numLayers} stages`);
    this.outAfterDownsample = Boolean(args.out_after_downsample);
    this.frozenStages = (args.frozen_stages as number) ?? -1;
    if (args.auto_pad) throw new ConfigError(`${type}: auto_pad is the old mmcls argument; use pad_small_map`);
    const patchCfg = (args.patch_cfg ?? {}) as Dict;
    checkArgs(`${type} patch_cfg`, patchCfg, ['norm_cfg']);

    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed((args.in_channels as number) ?? 3, this.embedDims, this.patchSize, patchCfg.norm_cfg));
    const numPatches = this.patchResolution[0] * this.patchResolution[1];
    this.absolutePosEmbed = args.use_abs_pos_embed ? this.registerParameter('absolute_pos_embed', truncNormal([1, numPatches, this.embedDims], 0, 0.02)) : null;
    this.dropAfterPos = this.registerModule('drop_after_pos', new Dropout((args.drop_rate as number) ?? 0));

    const total = this.depths.reduce((s, d) => s + d, 0);
    const rate = (args.drop_path_rate as number) ?? 0.1;
    let dpr = Array.from({ length: total }, (_, i) => (total > 1 ? Math.fround((rate * i) / (total - 1)) : 0));
    const stageCfgs = args.stage_cfgs ?? {};
    const stages: SwinBlockSequence[] = [];
    const dims = [this.embedDims];
    for (let i = 0; i < numLayers; i++) {
      const sc = (Array.isArray(stageCfgs) ? stageCfgs[i] : stageCfgs) as Dict | undefined;
      if (!sc) throw new ConfigError(`${type}: stage_cfgs has no entry for stage ${i}`);
      checkArgs(`${type} stage_cfgs`, sc, STAGE_KEYS);
      stages.push(new SwinBlockSequence(dims[dims.length - 1], this.depths[i], this.numHeads[i], {
        windowSize: (sc.window_size as number) ?? (args.window_size as number) ?? 7,
        downsample: i < numLayers - 1,
        downsampleCfg: (sc.downsample_cfg ?? {}) as Dict,
        dropPaths: dpr.slice(0, this.depths[i]),
        blockCfgs: (sc.block_cfgs ?? {}) as Dict,
        padSmallMap: (sc.pad_small_map as boolean) ?? Boolean(args.pad_small_map),
      }));
      dpr = dpr.slice(this.depths[i]);
      dims.push(stages[i].outChannels);
    }
    this.stages = this.registerModule('stages', new ModuleList(stages));
    this.numFeatures = this.outAfterDownsample ? dims.slice(1) : dims.slice(0, -1);
    for (const i of this.outIndices) {
      this.norms.set(i, this.registerModule(`norm${i}`, layerNormOf('norm_cfg', args.norm_cfg, this.numFeatures[i])));
    }
    this.train(true);
  }

  /** Patch embedding plus the absolute position embedding (when used); `[B, h·w, D]` and `[h, w]`. */
  protected embed(x: Tensor4D, mask?: Tensor): [Tensor3D, [number, number]] {
    const [tokens, hw] = this.patchEmbed.forward(x);
    let y = tokens;
    if (mask) y = this.applyMask(y, mask);
    if (this.absolutePosEmbed) {
      if (hw[0] !== this.patchResolution[0] || hw[1] !== this.patchResolution[1]) {
        throw new ConfigError(`${this.typeName}: use_abs_pos_embed needs ${this.imgSize[0]}×${this.imgSize[1]} inputs, got ${x.shape[1]}×${x.shape[2]}`);
      }
      y = tf.add(y, this.absolutePosEmbed) as Tensor3D;
    }
    return [this.dropAfterPos.forward(y) as Tensor3D, hw];
  }

  protected applyMask(_tokens: Tensor3D, _mask: Tensor): Tensor3D {
    throw new ConfigError(`${this.typeName} takes no mask; masked image modeling needs SimMIMSwinTransformer`);
  }

  forward(x: Tensor4D, mask?: Tensor): Tensor4D[] {
    for (const [k, s] of [[1, this.imgSize[0]], [2, this.imgSize[1]]]) {
      if (x.shape[k] % this.patchSize !== 0) throw new ConfigError(`${this.typeName}: input size ${x.shape[1]}×${x.shape[2]} must be a multiple of patch_size ${this.patchSize} (img_size ${s})`);
    }
    let [y, hw] = this.embed(x, mask);
    const outs: Tensor4D[] = [];
    for (let i = 0; i < this.stages.length; i++) {
      const stage = this.stages.at(i);
      [y, hw] = stage.forward(y, hw, this.outAfterDownsample);
      const norm = this.norms.get(i);
      if (norm) outs.push(tf.reshape(norm.forward(y), [-1, hw[0], hw[1], this.numFeatures[i]]) as Tensor4D);
      if (stage.downsample && !this.outAfterDownsample) [y, hw] = stage.downsample.forward(y, hw);
    }
    return outs;
  }

  /** mmcls _freeze_stages: patch embedding, stages 0..frozen_stages and their out norms. */
  override train(mode = true): this {
    super.train(mode);
    if (this.frozenStages >= 0 && this.stages) {
      this.patchEmbed.eval().requiresGrad(false);
      for (let i = 0; i < Math.min(this.frozenStages + 1, this.stages.length); i++) this.stages.at(i).eval().requiresGrad(false);
      for (const [i, norm] of this.norms) if (i <= this.frozenStages) norm.requiresGrad(false);
    }
    return this;
  }
}

export function buildSwinTransformer(args: Record<string, unknown>): SwinTransformer {
  checkArgs('SwinTransformer', args, SWIN_ARG_NAMES);
  return new SwinTransformer(args);
}

/** Re-initialises `p` with a truncated normal (std 0.02), as mmcls/MMSelfSup trunc_normal_. */
export function truncNormalInit(p: Variable, std = 0.02): void {
  assignInit(p, truncNormal(p.shape, 0, std));
}
