import { tf, type Tensor } from '../../engine/tf.js';
import type { ContrastiveHead } from '../heads/heads.js';
import { simclrPairs } from '../losses/contrastive.js';
import type { StepContext } from '../contracts.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `SimCLR` (Chen et al. 2020, https://arxiv.org/abs/2002.05709): both views in one batch
 * of 2N through backbone and neck, L2-normalised (`z / (‖z‖ + 1e-10)`), all-gathered across processes
 * (GatherLayer, via the dist context), NT-Xent through `ContrastiveHead`.
 */
export class SimCLR extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule,
    readonly head: ContrastiveHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  forwardTrain(views: Tensor[], _labels?: Tensor, ctx?: StepContext): LossDict {
    if (views.length !== 2) throw new Error(`SimCLR needs 2 views per image, got ${views.length}`);
    // torch.stack(img, 1).reshape(2N, ...): the two views of image i are rows 2i and 2i+1
    const [n, ...rest] = views[0].shape;
    const x = tf.reshape(tf.stack(views, 1), [2 * n, ...rest]);
    let z = this.neck.forward(this.extractFeat(x))[0];
    z = tf.div(z, tf.add(tf.norm(z, 2, 1, true), 1e-10));
    if (ctx && ctx.dist.worldSize > 1) {
      if (!ctx.dist.allGatherWithGrad) throw new Error('SimCLR across processes needs allGatherWithGrad (GatherLayer) from src/dist');
      z = ctx.dist.allGatherWithGrad(z);
    }
    const { pos, neg } = simclrPairs(z);
    return this.head.forward(pos, neg);
  }
}

export const simclrEntry = defineComponent({
  type: 'SimCLR',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => new SimCLR(buildBackbone('SimCLR', a.backbone), buildNeck('SimCLR', a.neck), buildHead<ContrastiveHead>('SimCLR', a.head)),
});
