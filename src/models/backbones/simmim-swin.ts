import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { assignInit, constant } from '../../engine/init.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor, type Tensor3D, type Variable } from '../../engine/tf.js';
import { initRelativePositionBias } from './swin-attention.js';
import { SWIN_ARG_NAMES, SwinTransformer, truncNormalInit } from './swin.js';

/**
 * MMSelfSup 0.x SimMIMSwinTransformer: a SwinTransformer whose `forward(x, mask)` replaces the
 * masked patch tokens (`mask` `[B, h, w]`, 1 = masked, at patch resolution) by a learned
 * `mask_token` before the stages. Init: Linear weights and tokens trunc-normal (std 0.02), biases 0,
 * LayerNorm 1/0.
 */
export class SimMIMSwinTransformer extends SwinTransformer {
  readonly maskToken: Variable;

  constructor(args: Record<string, unknown>) {
    super(args, 'SimMIMSwinTransformer');
    if (this.outAfterDownsample) throw new ConfigError('SimMIMSwinTransformer: out_after_downsample is not an argument of MMSelfSup\'s SimMIMSwinTransformer; remove it');
    // MMSelfSup's forward outputs each stage after its PatchMerging, so only the last stage has a matching norm
    const last = this.stages.length - 1;
    for (const i of this.outIndices) {
      if (i !== last) throw new ConfigError(`SimMIMSwinTransformer: out_indices ${i} is not supported (MMSelfSup normalises stage outputs after PatchMerging, which only fits the last stage ${last})`);
    }
    this.maskToken = this.registerParameter('mask_token', tf.zeros([1, 1, this.embedDims]));
    if (this.absolutePosEmbed) truncNormalInit(this.absolutePosEmbed);
    truncNormalInit(this.maskToken);
    initRelativePositionBias(this);
    for (const [, m] of this.namedModules()) {
      if (m instanceof Linear) {
        truncNormalInit(m.weight);
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      } else if (m instanceof LayerNorm) {
        if (m.weight) assignInit(m.weight, constant(m.weight.shape, 1));
        if (m.bias) assignInit(m.bias, constant(m.bias.shape, 0));
      }
    }
  }

  protected override applyMask(tokens: Tensor3D, mask: Tensor): Tensor3D {
    const [b, l] = tokens.shape;
    if (mask.size !== b * l) {
      throw new ConfigError(`SimMIMSwinTransformer: the mask has ${mask.size / b} entries per image for ${l} patches; SimMIMMaskGenerator's input_size / model_patch_size must equal img_size / patch_size`);
    }
    const w = tf.reshape(tf.cast(mask, 'float32'), [b, l, 1]);
    return tf.add(tf.mul(tokens, tf.sub(1, w)), tf.mul(this.maskToken, w)) as Tensor3D;
  }
}

export function buildSimMIMSwinTransformer(args: Record<string, unknown>): SimMIMSwinTransformer {
  checkArgs('SimMIMSwinTransformer', args, SWIN_ARG_NAMES.filter((k) => !['window_size', 'patch_size', 'out_after_downsample', 'interpolate_mode', 'auto_pad'].includes(k)));
  return new SimMIMSwinTransformer(args);
}
