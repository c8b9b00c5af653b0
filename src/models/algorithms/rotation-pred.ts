import type { Tensor } from '../../engine/tf.js';
import type { Batch, StepContext } from '../contracts.js';
import type { ClsHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm, batchInts } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead } from '../registries.js';

/**
 * MMSelfSup `RotationPred` (Gidaris et al. 2018, https://arxiv.org/abs/1803.07728): the 4 rotations
 * of each image (`RotationPredDataset`, one view `[N*4, H, W, C]`) through the backbone, `ClsHead`
 * over the 4 rotation classes against `rot_label` `[N*4]`. Logs `acc`.
 */
export class RotationPred extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly head: ClsHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('head', head);
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, _ctx?: StepContext, batch?: Batch): LossDict {
    const rotLabel = batchInts(batch, 'rot_label', 'RotationPred');
    return this.head.loss(this.head.forward(this.extractFeat(views[0])), rotLabel);
  }
}

export const rotationPredEntry = defineComponent({
  type: 'RotationPred',
  args: { backbone: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => new RotationPred(buildBackbone('RotationPred', a.backbone), buildHead<ClsHead>('RotationPred', a.head)),
});
