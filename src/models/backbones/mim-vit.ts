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
 * MMSelfSup 0.x MIMVisionTransformer, the ViT that MAE/MaskFeat/SimMIM checkpoints are fine-tuned
 * and probed with: learned position embedding; output `[N, D]` — the class token after the final
 * norm (`final_norm=True`), or the mean patch token through `fc_norm` (`final_norm=False`, MAE's
 * global pooling). `finetune=False` freezes everything (linear probing).
 */
export class MIMVisionTransformer extends VisionTransformer {
  readonly fcNorm: LayerNorm | null;
  readonly finetune: boolean;

  constructor(args: MIMViTArgs) {
    const { use_window: useWindow, init_values: initValues, finetune, ...vit } = args;
    if (useWindow) throw new ConfigError('MIMVisionTransformer: use_window=True (relative position bias) is not supported; remove model.backbone.use_window');
    if (initValues) throw new ConfigError(`MIMVisionTransformer: init_values ${initValues} (layer scale) is not supported; set model.backbone.init_values=0`);
    super({ pos_embed_type: 'learned', ...vit }, { typeName: 'MIMVisionTransformer' });
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
