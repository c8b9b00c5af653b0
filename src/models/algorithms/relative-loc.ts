import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext } from '../contracts.js';
import type { ClsHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, batchInts } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `RelativeLoc` (Doersch et al. 2015, https://arxiv.org/abs/1505.05192): each of the 8
 * outer patches is paired with the centre patch on the channel axis (`RelativeLocDataset`, one view
 * `[N*8, h, w, 2C]`); both halves go through the backbone separately (their own BN batch
 * statistics, as MMSelfSup's `torch.chunk(img, 2, dim=1)`), the features are concatenated,
 * `RelativeLocNeck`, then `ClsHead` over the 8 positions against `patch_label` `[N*8]`.
 */
export class RelativeLoc extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule,
    readonly head: ClsHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const patchLabel = batchInts(batch, 'patch_label', 'RelativeLoc');
    const x = views[0];
    const c = (x.shape[3] as number) / 2;
    const [patch, centre] = tf.split(x, [c, c], 3);
    const f1 = this.extractFeat(patch)[0];
    const f2 = this.extractFeat(centre)[0];
    const feat = this.neck.forward([tf.concat([f1, f2], f1.rank - 1)]);
    return this.head.loss(this.head.forward(feat), patchLabel);
  }
}

export const relativeLocEntry = defineComponent({
  type: 'RelativeLoc',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => new RelativeLoc(buildBackbone('RelativeLoc', a.backbone), buildNeck('RelativeLoc', a.neck), buildHead<ClsHead>('RelativeLoc', a.head)),
});
