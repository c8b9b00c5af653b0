import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant, truncNormal } from '../../engine/init.js';
import { Conv2d } from '../../engine/layers/conv2d.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { VisionTransformer, type ViTArgs } from './vit.js';

/** MMSelfSup 0.x MaskFeatViT arguments (mmcls VisionTransformer's, without qkv_bias or freezing). */
export const MASKFEAT_VIT_ARG_NAMES = [
  'arch', 'img_size', 'patch_size', 'out_indices', 'drop_rate', 'drop_path_rate', 'norm_cfg', 'final_norm', 'output_cls_token',
  'interpolate_mode', 'patch_cfg', 'layer_cfgs', 'init_cfg',
] as const;

/**
 * MMSelfSup 0.x MaskFeatViT: an mmcls VisionTransformer (learned position embedding) with a
 * learnable `mask_token` that replaces the masked patch embeddings before the cls token and the
 * position embedding are added. Init as MMSelfSup: cls_token, mask_token, pos_embed and every
 * Linear/Conv2d weight ~ trunc-normal(0.02), Linear biases 0, LayerNorms 1/0.
 */
export class MaskFeatViT extends VisionTransformer {
  constructor(args: ViTArgs) {
    super({ ...args, pos_embed_type: 'learned' }, { typeName: 'MaskFeatViT', maskToken: true });
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear || m instanceof Conv2d) {
        assignInit(m.weight, truncNormal(m.weight.shape, 0, 0.02));
        if (m instanceof Linear && m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
    for (const v of [this.clsToken, this.maskToken!, this.posEmbed]) assignInit(v, truncNormal(v.shape, 0, 0.02));
  }

  get numPatches(): number {
    return this.patchResolution[0] * this.patchResolution[1];
  }

  /**
   * MaskFeatViT.forward: x NHWC `[N, H, W, C]`, mask `[N, h, w]` or `[N, h·w]` (1 = masked) -> every
   * token `[N, 1 + h·w, D]` (cls first), after the final norm.
   */
  forwardTokens(x: Tensor4D, mask: Tensor): Tensor3D {
    const [n] = x.shape;
    const l = this.numPatches;
    const d = this.embedDims;
    if (x.shape[1] !== this.patchResolution[0] * this.patchSize || x.shape[2] !== this.patchResolution[1] * this.patchSize) {
      throw new ConfigError(`MaskFeatViT built for img_size ${this.patchResolution[0] * this.patchSize} got ${x.shape[1]}×${x.shape[2]} images`);
    }
    if (mask.size !== n * l) throw new ConfigError(`MaskFeatViT: the mask has ${mask.size / n} patches per image, the backbone ${l} (${this.patchResolution.join('×')}); check the mask generator's mask_window_size / input_size`);
    const m = tf.reshape(tf.cast(mask, 'float32'), [n, l, 1]);
    const tokens = tf.reshape(this.patchEmbed.projection.forward(x), [n, l, d]);
    const mixed = tf.add(tf.mul(tokens, tf.sub(1, m)), tf.mul(this.maskToken!, m));
    let y = this.dropAfterPos.forward(tf.add(tf.concat([tf.tile(this.clsToken, [n, 1, 1]), mixed], 1), this.posEmbed)) as Tensor3D;
    for (let i = 0; i < this.numLayers; i++) y = this.layers.at(i).forward(y);
    return this.ln1 ? (this.ln1.forward(y) as Tensor3D) : y;
  }
}

export function buildMaskFeatViT(args: Record<string, unknown>): MaskFeatViT {
  checkArgs('MaskFeatViT', args, MASKFEAT_VIT_ARG_NAMES);
  return new MaskFeatViT(args as ViTArgs);
}
