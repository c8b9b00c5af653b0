import { BatchNorm } from '../../engine/layers/batch-norm.js';
import type { Tensor } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { FinetuneHead } from './finetune-heads.js';

/**
 * MMSelfSup 0.x MAELinprobeHead: `bn` (BatchNorm1d without affine parameters, eps 1e-6) then `head`
 * (Linear embed_dim -> num_classes, weight ~ trunc-normal(0.01), bias 0) on the frozen backbone's
 * `[N, D]` feature; loss = cross-entropy (no label smoothing).
 */
export class MAELinprobeHead extends FinetuneHead {
  readonly bn: BatchNorm;

  constructor(embedDim: number, numClasses: number) {
    super('MAELinprobeHead', embedDim, numClasses, 0, 0.01, false);
    this.bn = this.registerModule('bn', new BatchNorm(embedDim, { affine: false, eps: 1e-6 }));
  }

  override forwardPooled(pooled: Tensor[]): Tensor[] {
    return super.forwardPooled([this.bn.forward(pooled[0])]);
  }
}

export const maeLinprobeHeadEntry = defineComponent({
  type: 'MAELinprobeHead',
  args: { embed_dim: REQUIRED, num_classes: 1000, init_cfg: undefined as unknown },
  build: (a) => new MAELinprobeHead(a.embed_dim as unknown as number, a.num_classes),
});
