import { ConfigError } from '../../errors.js';
import { tf, type Tensor, type Tensor4D } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { Batch, StepContext } from '../contracts.js';
import { SimMIMSwinTransformer } from '../backbones/simmim-swin.js';
import { SimMIMHead } from '../heads/simmim-head.js';
import { SimMIMNeck } from '../necks/simmim-neck.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';
import type { ListModule, LossDict } from './base.js';
import { BaseAlgorithm } from './base.js';

/**
 * MMSelfSup 0.x `SimMIM`: the SimMIMSwinTransformer encodes the image with its masked patches
 * replaced by the mask token, the SimMIMNeck decodes the last stage to pixels, and the SimMIMHead
 * scores the L1 error on the masked pixels. The mask comes from the SimMIMMaskGenerator pipeline
 * step (the batch's `mask`, `[N, h, w]` at the backbone's patch resolution).
 */
export class SimMIM extends BaseAlgorithm {
  constructor(
    readonly backbone: SimMIMSwinTransformer & ListModule,
    readonly neck: SimMIMNeck,
    readonly head: SimMIMHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  /** MMSelfSup's forward_train on NHWC images and a `[N, h, w]` mask (1 = masked). */
  lossOf(img: Tensor4D, mask: Tensor): LossDict {
    const latent = this.backbone.forward(img, mask);
    return this.head.forward(img, this.neck.forward(latent), mask);
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const m = batch?.mask as { data: Uint8Array; shape: number[] } | undefined;
    if (!m) throw new ConfigError('SimMIM needs a mask per image: add a SimMIMMaskGenerator step at the end of data.train.pipeline');
    return this.lossOf(views[0] as Tensor4D, tf.tensor(Float32Array.from(m.data), m.shape, 'float32'));
  }
}

export const simMIMEntry = defineComponent({
  type: 'SimMIM',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => {
    const backbone = buildBackbone('SimMIM', a.backbone);
    if (!(backbone instanceof SimMIMSwinTransformer)) throw new ConfigError(`SimMIM: model.backbone must be a SimMIMSwinTransformer, got ${String((a.backbone as unknown as Record<string, unknown>).type)}`);
    const neck = buildNeck('SimMIM', a.neck) as unknown;
    const head = buildHead('SimMIM', a.head) as unknown;
    if (!(neck instanceof SimMIMNeck)) throw new ConfigError(`SimMIM: model.neck must be a SimMIMNeck, got ${String((a.neck as unknown as Record<string, unknown>).type)}`);
    if (!(head instanceof SimMIMHead)) throw new ConfigError(`SimMIM: model.head must be a SimMIMHead, got ${String((a.head as unknown as Record<string, unknown>).type)}`);
    const last = backbone.numFeatures[backbone.stages.length - 1];
    if (neck.inChannels !== last) throw new ConfigError(`SimMIM: model.neck.in_channels ${neck.inChannels} must equal the backbone's last stage channels ${last}`);
    const stride = backbone.patchSize * 2 ** (backbone.stages.length - 1);
    if (neck.encoderStride !== stride) throw new ConfigError(`SimMIM: model.neck.encoder_stride ${neck.encoderStride} must equal the backbone's total stride ${stride} (patch_size × 2^(stages − 1))`);
    if (head.patchSize !== backbone.patchSize) throw new ConfigError(`SimMIM: model.head.patch_size ${head.patchSize} must equal the backbone's patch size ${backbone.patchSize}`);
    return new SimMIM(backbone as SimMIMSwinTransformer & ListModule, neck, head);
  },
});
