import type { Tensor } from '../../engine/tf.js';
import type { ClsHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { ConfigError } from '../../errors.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead } from '../registries.js';

/** MMSelfSup `Classification`: backbone + `ClsHead` (linear evaluation, supervised baselines). Logs `acc`. */
export class Classification extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly head: ClsHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('head', head);
  }

  forwardTrain(views: Tensor[], labels?: Tensor): LossDict {
    if (!labels) throw new Error('Classification needs labels in the batch (a labelled data source)');
    return this.head.loss(this.head.forward(this.extractFeat(views[0])), labels);
  }
}

export const classificationEntry = defineComponent({
  type: 'Classification',
  args: { backbone: REQUIRED, head: REQUIRED, with_sobel: false, init_cfg: undefined },
  build: (a) => {
    if (a.with_sobel) throw new ConfigError('Classification: with_sobel is not supported');
    return new Classification(buildBackbone('Classification', a.backbone), buildHead<ClsHead>('Classification', a.head));
  },
});
