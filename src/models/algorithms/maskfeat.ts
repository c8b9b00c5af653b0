import { ConfigError } from '../../errors.js';
import { tf, type Tensor, type Tensor3D, type Tensor4D } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import type { Batch } from '../contracts.js';
import { MaskFeatViT } from '../backbones/maskfeat-vit.js';
import { MaskFeatPretrainHead } from '../heads/maskfeat-pretrain-head.js';
import { HOGGenerator } from '../targets/hog-generator.js';
import { buildBackbone, buildHead } from '../registries.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';

/** The pipeline's patch mask (`MaskFeatMaskGenerator` / `BEiTMaskGenerator`) of a batch as a `[N, h, w]` tensor. */
export function batchMask(batch: Batch | undefined, owner: string): Tensor {
  const m = batch?.mask as { data: ArrayLike<number>; shape: number[] } | undefined;
  if (!m) throw new ConfigError(`${owner} needs a patch mask in the batch: end data.train.pipeline with a mask generator (MaskFeatMaskGenerator / BEiTMaskGenerator)`);
  return tf.tensor(Float32Array.from(m.data), m.shape, 'float32');
}

/**
 * MMSelfSup 0.x `MaskFeat`: the MaskFeatViT sees the image with the masked patches replaced by its
 * mask token, and the MaskFeatPretrainHead regresses each masked patch's HOG features (the
 * HOGGenerator of `hog_para` on the same, normalised image; no gradient).
 */
export class MaskFeat extends BaseAlgorithm {
  readonly hog: HOGGenerator;

  constructor(
    readonly backbone: MaskFeatViT & ListModule,
    readonly head: MaskFeatPretrainHead,
    hogPara: { nbins?: number; pool?: number; gaussian_window?: number },
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('head', head);
    // MMSelfSup's HOG groups its cells by the 14×14 patches of a 224² ViT-B/16; here by the backbone's grid
    this.hog = new HOGGenerator({ ...hogPara, patchesPerSide: backbone.patchResolution[0] });
  }

  /** MMSelfSup's forward_train: img NHWC, mask `[N, h, w]` (1 = masked). */
  lossOf(img: Tensor4D, mask: Tensor): LossDict {
    const hog = this.hog.forward(img) as Tensor3D;
    return this.head.forward(this.backbone.forwardTokens(img, mask), hog, mask);
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: unknown, batch?: Batch): LossDict {
    return this.lossOf(views[0] as Tensor4D, batchMask(batch, 'MaskFeat'));
  }
}

export const maskFeatEntry = defineComponent({
  type: 'MaskFeat',
  args: { backbone: REQUIRED, head: REQUIRED, hog_para: REQUIRED, init_cfg: undefined },
  build: (a) => {
    const backbone = buildBackbone('MaskFeat', a.backbone);
    if (!(backbone instanceof MaskFeatViT)) throw new ConfigError(`MaskFeat: model.backbone must be a MaskFeatViT, got ${String((a.backbone as unknown as Record<string, unknown>).type)}`);
    const head = buildHead<MaskFeatPretrainHead>('MaskFeat', a.head);
    if (!(head instanceof MaskFeatPretrainHead)) throw new ConfigError(`MaskFeat: model.head must be a MaskFeatPretrainHead, got ${String((a.head as unknown as Record<string, unknown>).type)}`);
    const hogPara = a.hog_para as unknown as Record<string, unknown>;
    const unknown = Object.keys(hogPara).find((k) => !['nbins', 'pool', 'gaussian_window'].includes(k));
    if (unknown) throw new ConfigError(`MaskFeat: model.hog_para has no "${unknown}" (nbins, pool, gaussian_window)`);
    const nbins = (hogPara.nbins as number | undefined) ?? 9;
    const pool = (hogPara.pool as number | undefined) ?? 8;
    if (head.embedDim !== backbone.embedDims) throw new ConfigError(`MaskFeat: model.head.embed_dim ${head.embedDim} must equal the backbone's embed_dims ${backbone.embedDims}`);
    if (backbone.patchSize % pool !== 0) throw new ConfigError(`MaskFeat: model.backbone.patch_size ${backbone.patchSize} must be a multiple of model.hog_para.pool ${pool}`);
    const hogDim = 3 * nbins * (backbone.patchSize / pool) ** 2;
    if (head.hogDim !== hogDim) throw new ConfigError(`MaskFeat: model.head.hog_dim ${head.hogDim} must be 3 × nbins ${nbins} × (patch_size ${backbone.patchSize} / pool ${pool})² = ${hogDim}`);
    return new MaskFeat(backbone as MaskFeatViT & ListModule, head, hogPara);
  },
});
