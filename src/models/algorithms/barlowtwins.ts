import type { Tensor } from '../../engine/tf.js';
import type { LatentCrossCorrelationHead } from '../heads/heads.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/** MMSelfSup `BarlowTwins` (Zbontar et al. 2021, https://arxiv.org/abs/2103.03230): head(neck(bb(v1)), neck(bb(v2))). */
export class BarlowTwins extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule,
    readonly head: LatentCrossCorrelationHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  forwardTrain(views: Tensor[]): LossDict {
    const [z1, z2] = views.map((v) => this.neck.forward(this.backbone.forward(v))[0]);
    return this.head.forward(z1, z2);
  }
}

export const barlowTwinsEntry = defineComponent({
  type: 'BarlowTwins',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) =>
    new BarlowTwins(buildBackbone('BarlowTwins', a.backbone), buildNeck('BarlowTwins', a.neck), buildHead<LatentCrossCorrelationHead>('BarlowTwins', a.head)),
});
