import { ConfigError } from '../../errors.js';
import type { Tensor, Tensor4D } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { MAEViT } from '../backbones/mae-vit.js';
import { MAEPretrainHead } from '../heads/mae-pretrain-head.js';
import { MAEPretrainDecoder } from '../necks/mae-pretrain-decoder.js';
import { buildBackbone, buildHead, buildNeck, subConfig } from '../registries.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';

/**
 * MMSelfSup `MAE`: the MAEViT encoder sees a random (1 - mask_ratio) share of the patches, the
 * MAEPretrainDecoder predicts every patch's pixels, and the MAEPretrainHead scores the masked ones.
 */
export class MAE extends BaseAlgorithm {
  constructor(
    readonly backbone: MAEViT & ListModule,
    readonly neck: MAEPretrainDecoder,
    readonly head: MAEPretrainHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  /** MMSelfSup's forward_train on NHWC images; `noise` `[N, L]` fixes the masking (tests). */
  lossOf(img: Tensor4D, noise?: Tensor): LossDict {
    const { latent, mask, idsRestore } = this.backbone.forwardMasked(img, noise);
    return this.head.forward(img, this.neck.forward(latent, idsRestore), mask);
  }

  forwardTrain(views: Tensor[]): LossDict {
    return this.lossOf(views[0] as Tensor4D);
  }
}

export const maeEntry = defineComponent({
  type: 'MAE',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => {
    const backbone = buildBackbone('MAE', a.backbone);
    if (!(backbone instanceof MAEViT)) throw new ConfigError(`MAE: model.backbone must be an MAEViT, got ${String((a.backbone as unknown as Record<string, unknown>).type)}`);
    // MMSelfSup sets the decoder's num_patches from the encoder
    const neckCfg = { ...subConfig('MAE', 'neck', a.neck) };
    if (neckCfg.num_patches === undefined) neckCfg.num_patches = backbone.numPatches;
    else if (neckCfg.num_patches !== backbone.numPatches) {
      throw new ConfigError(`MAE: model.neck.num_patches ${String(neckCfg.num_patches)} must equal the encoder's patch count ${backbone.numPatches} ((img_size / patch_size)²)`);
    }
    const neck = buildNeck('MAE', neckCfg) as unknown as MAEPretrainDecoder;
    const head = buildHead<MAEPretrainHead>('MAE', a.head);
    if (!(neck instanceof MAEPretrainDecoder)) throw new ConfigError(`MAE: model.neck must be an MAEPretrainDecoder, got ${String(neckCfg.type)}`);
    if (!(head instanceof MAEPretrainHead)) throw new ConfigError(`MAE: model.head must be an MAEPretrainHead, got ${String((a.head as unknown as Record<string, unknown>).type)}`);
    for (const [key, p] of [['model.neck.patch_size', neck.args.patch_size], ['model.head.patch_size', head.patchSize]] as const) {
      if (p !== backbone.patchSize) throw new ConfigError(`MAE: ${key} ${p} must equal model.backbone.patch_size ${backbone.patchSize}`);
    }
    if (neck.args.embed_dim !== backbone.embedDims) throw new ConfigError(`MAE: model.neck.embed_dim ${neck.args.embed_dim} must equal the encoder's embed_dims ${backbone.embedDims}`);
    return new MAE(backbone as MAEViT & ListModule, neck, head);
  },
});
