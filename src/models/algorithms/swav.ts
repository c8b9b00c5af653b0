import { ConfigError } from '../../errors.js';
import { tf, type Tensor } from '../../engine/tf.js';
import type { Batch, StepContext } from '../contracts.js';
import type { SwAVHead } from '../heads/swav-head.js';
import type { LossDict, ListModule } from './base.js';
import { BaseAlgorithm } from './base.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { buildBackbone, buildHead, buildNeck } from '../registries.js';

/**
 * MMSelfSup `SwAV` (Caron et al. 2020, https://arxiv.org/abs/2006.09882): the multi-crop views go
 * through the backbone in groups of consecutive equal resolution (2×224 together, then 6×96), the
 * neck pools and projects all of them, and `SwAVHead` gives the swapped-prediction loss.
 */
export class SwAV extends BaseAlgorithm {
  constructor(
    readonly backbone: ListModule,
    readonly neck: ListModule,
    readonly head: SwAVHead,
  ) {
    super();
    this.registerModule('backbone', backbone);
    this.registerModule('neck', neck);
    this.registerModule('head', head);
  }

  protected override async beforeStep(views: Tensor[], ctx: StepContext, _batch?: Batch): Promise<void> {
    const total = this.head.totalCrops;
    if (views.length !== total) {
      throw new ConfigError(
        `SwAV: model.head.num_crops ${JSON.stringify(this.head.numCrops)} makes ${total} crops but the data pipeline gives ${views.length} views per sample; set data.train.num_views to ${JSON.stringify(this.head.numCrops)}`,
      );
    }
    this.head.normalizePrototypes();
    const { dist } = ctx;
    if (dist.worldSize > 1) {
      // MMSelfSup's distributed_sinkhorn all-reduces inside the forward: the blocking float32 collectives
      const c = dist.collectives;
      if (!c) throw new Error('SwAV across processes needs the float32 collectives of src/dist (distributed_sinkhorn all-reduces)');
      this.head.distributed = { allReduceSum: (d) => c.allReduce(d, 'sum'), worldSize: dist.worldSize };
    } else this.head.distributed = null;
  }

  forwardTrain(views: Tensor[]): LossDict {
    const groups: Tensor[] = [];
    for (let start = 0; start < views.length; ) {
      let end = start + 1;
      while (end < views.length && views[end].shape[2] === views[start].shape[2]) end++;
      const x = end - start === 1 ? views[start] : tf.concat(views.slice(start, end), 0);
      groups.push(this.extractFeat(x)[0]);
      start = end;
    }
    return this.head.forward(this.neck.forward(groups)[0]);
  }

  protected override async afterStep(_ctx: StepContext, _batch?: Batch): Promise<void> {
    await this.head.updateQueue();
  }
}

export const swavEntry = defineComponent({
  type: 'SwAV',
  args: { backbone: REQUIRED, neck: REQUIRED, head: REQUIRED, init_cfg: undefined },
  build: (a) => new SwAV(buildBackbone('SwAV', a.backbone), buildNeck('SwAV', a.neck), buildHead<SwAVHead>('SwAV', a.head)),
});
