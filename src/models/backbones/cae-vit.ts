import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant, truncNormal, xavierUniform } from '../../engine/init.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { gatherTokens } from '../tokens.js';
import { VisionTransformer, type ViTArgs } from './vit.js';

export const CAE_VIT_ARG_NAMES = [
  'arch', 'img_size', 'patch_size', 'out_indices', 'drop_rate', 'drop_path_rate', 'qkv_bias', 'norm_cfg', 'final_norm', 'output_cls_token',
  'interpolate_mode', 'init_values', 'patch_cfg', 'layer_cfgs', 'init_cfg',
] as const;

/**
 * Per image, the patch indices where `mask` (`[N, L]`, 1 = masked) equals `want`, ascending (as
 * `x[mask]` orders them). Every image must hold the same number (MMSelfSup reshapes to `[N, -1, D]`).
 */
export function maskedIndices(mask: Tensor, want: 0 | 1, owner: string): Tensor {
  const [n, l] = [mask.shape[0], mask.size / mask.shape[0]];
  const m = mask.dataSync();
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < l; j++) if ((m[i * l + j] > 0.5 ? 1 : 0) === want) row.push(j);
    rows.push(row);
  }
  if (rows.some((r) => r.length !== rows[0].length)) {
    throw new ConfigError(`${owner}: every image of a batch must have the same number of masked patches (got ${rows.map((r) => (want ? r.length : l - r.length)).join(', ')}); BEiTMaskGenerator masks exactly num_masking_patches`);
  }
  return tf.tensor2d(rows.flat(), [n, rows[0].length], 'int32');
}

/**
 * MMSelfSup 0.x CAEViT: the CAE encoder. Fixed sin-cos position embedding, MMSelfSup's transformer
 * layers (q/v biases when qkv_bias=False, layer scale `init_values`); `forwardVisible(img, mask)` encodes
 * the cls token and the patches where mask is 0 only (their position embeddings added).
 */
export class CAEViT extends VisionTransformer {
  constructor(args: ViTArgs & { init_values?: number | null }) {
    const { init_values: initValues, ...vit } = args;
    super({ ...vit, pos_embed_type: 'sincos' }, { typeName: 'CAEViT', mmselfsupLayers: { initValues: initValues ?? 0 } });
    // CAEViT.init_weights: xavier Linear, trunc-normal(0.02) Conv2d, LayerNorm 1/0, cls_token trunc-normal(0.02)
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        assignInit(m.weight, xavierUniform(m.weight.shape, 'linear'));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof Conv2d) {
        assignInit(m.weight, truncNormal(m.weight.shape, 0, 0.02));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
    assignInit(this.clsToken, truncNormal(this.clsToken.shape, 0, 0.02));
  }

  get numPatches(): number {
    return this.patchResolution[0] * this.patchResolution[1];
  }

  /** The position embeddings of the patches `ids` (`[N, K]` int32): `[N, K, D]`. */
  patchPosEmbed(ids: Tensor): Tensor3D {
    const n = ids.shape[0];
    const patches = tf.slice(this.posEmbed, [0, 1, 0], [1, this.numPatches, this.embedDims]);
    return gatherTokens(tf.tile(patches, [n, 1, 1]) as Tensor3D, ids);
  }

  /** img NHWC, `keep` `[N, K]` int32 (the unmasked patches) -> `[N, 1 + K, D]` after the final norm. */
  forwardVisible(img: Tensor4D, keep: Tensor): Tensor3D {
    const [n] = img.shape;
    const d = this.embedDims;
    if (img.shape[1] !== this.patchResolution[0] * this.patchSize || img.shape[2] !== this.patchResolution[1] * this.patchSize) {
      throw new ConfigError(`CAEViT built for img_size ${this.patchResolution[0] * this.patchSize} got ${img.shape[1]}×${img.shape[2]} images`);
    }
    const x = tf.reshape(this.patchEmbed.projection.forward(img), [n, this.numPatches, d]) as Tensor3D;
    const visible = tf.add(gatherTokens(x, keep), this.patchPosEmbed(keep));
    const cls = tf.tile(tf.add(this.clsToken, tf.slice(this.posEmbed, [0, 0, 0], [1, 1, d])), [n, 1, 1]);
    let y = this.dropAfterPos.forward(tf.concat([cls, visible], 1)) as Tensor3D;
    for (let i = 0; i < this.numLayers; i++) y = this.layers.at(i).forward(y);
    return this.ln1 ? (this.ln1.forward(y) as Tensor3D) : y;
  }
}

export function buildCAEViT(args: Record<string, unknown>): CAEViT {
  checkArgs('CAEViT', args, CAE_VIT_ARG_NAMES);
  return new CAEViT(args as ViTArgs & { init_values?: number });
}
