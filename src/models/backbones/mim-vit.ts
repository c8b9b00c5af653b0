import { ConfigError } from '../../errors.js';
import { checkArgs } from '../../registry/registry.js';
import { LayerNorm } from '../../engine/layers/layer-norm.js';
import { tf, type Tensor, type Tensor2D, type Tensor4D } from '../../engine/tf.js';
import { VIT_ARG_NAMES, VisionTransformer, type ViTArgs } from './vit.js';

export interface MIMViTArgs extends ViTArgs {
  use_window?: boolean;
  init_values?: number;
  finetune?: boolean;
}

/**
 * MMSelfSup 0.x MIMVisionTransformer, the ViT that MAE/MaskFeat/SimMIM/CAE checkpoints are fine-tuned
 * and probed with: learned position embedding, MMSelfSup's transformer layers (`qkv_bias=False`: q/v
 * biases, or none with `use_window`; layer scale `init_values`; `use_window`: relative position bias
 * over the patch grid, the -rpe config); output `[N, D]` — the class token after the final
 * norm (`final_norm=True`), or the mean patch token through `fc_norm` (`final_norm=False`, MAE's
 * global pooling). `finetune=False` freezes everything (linear probing).
 */
export class MIMVisionTransformer extends VisionTransformer {
  readonly fcNorm: LayerNorm | null;
  readonly finetune: boolean;

  constructor(args: MIMViTArgs) {
    const { use_window: useWindow, init_values: initValues, finetune, ...vit } = args;
    // MMSelfSup's own layers: q/v biases when qkv_bias=False, layer scale init_values, relative position bias over the patch grid with use_window
    super({ pos_embed_type: 'learned', ...vit }, { typeName: 'MIMVisionTransformer', mmselfsupLayers: { initValues: initValues ?? 0, useWindow: Boolean(useWindow) } });
    const finalNorm = vit.final_norm ?? true;
    this.fcNorm = finalNorm ? null : this.registerModule('fc_norm', new LayerNorm(this.embedDims, vit.norm_cfg?.eps ?? 1e-6));
    this.finetune = finetune ?? true;
    if (!this.finetune) this.requiresGrad(false);
  }

  override train(mode = true): this {
    super.train(mode);
    if (this.finetune === false) this.eval().requiresGrad(false);
    return this;
  }

  forwardFeatures(x: Tensor4D): Tensor2D {
    const out = super.forward(x);
    const [patch, cls] = out[out.length - 1] as [Tensor4D, Tensor2D];
    if (!this.fcNorm) return cls;
    return this.fcNorm.forward(tf.mean(patch, [1, 2])) as Tensor2D;
  }

  override forward(x: Tensor4D, mask?: Tensor): never {
    if (mask) throw new ConfigError('MIMVisionTransformer takes no mask');
    return [this.forwardFeatures(x)] as never;
  }
}

export function buildMIMVisionTransformer(args: Record<string, unknown>): MIMVisionTransformer {
  checkArgs('MIMVisionTransformer', args, [...VIT_ARG_NAMES, 'use_window', 'init_values', 'finetune']);
  if (args.output_cls_token === false && args.final_norm !== false) throw new ConfigError('MIMVisionTransformer: output_cls_token=False needs final_norm=False (global pooling)');
  return new MIMVisionTransformer({ ...(args as MIMViTArgs), output_cls_token: true });
}
