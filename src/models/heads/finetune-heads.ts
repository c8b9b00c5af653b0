import { ConfigError } from '../../errors.js';
import { assignInit, constant, truncNormal } from '../../engine/init.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { labelSmoothLoss } from '../losses/label-smooth.js';
import { topkAccuracy } from '../losses/similarity.js';

/**
 * MMSelfSup's MAEFinetuneHead / MaskFeatFinetuneHead: `head` (Linear embed_dim -> num_classes) on
 * the backbone's `[N, D]` feature; loss = label-smoothing cross-entropy (soft labels from
 * Mixup/CutMix accepted). They differ in the init (trunc-normal std 2e-5 vs 0.02) and MaskFeat's
 * softmax outside training.
 */
export class FinetuneHead extends Module {
  readonly head: Linear;

  constructor(
    readonly type: string,
    embedDim: number,
    numClasses: number,
    readonly labelSmoothVal: number,
    initStd: number,
    private readonly softmaxInEval: boolean,
  ) {
    super();
    this.head = this.registerModule('head', new Linear(embedDim, numClasses));
    assignInit(this.head.weight, truncNormal(this.head.weight.shape, 0, initStd));
    assignInit(this.head.bias!, constant(this.head.bias!.shape, 0));
  }

  /** No parameter-free pooling: the backbone's `[N, D]` feature itself. */
  poolFeatures(inputs: Tensor[]): Tensor[] {
    const x = inputs[inputs.length - 1];
    if (x.rank !== 2) throw new ConfigError(`${this.type} needs a backbone that outputs [N, embed_dim] features (e.g. MIMVisionTransformer)`);
    return [x];
  }

  forwardPooled(pooled: Tensor[]): Tensor[] {
    const out = this.head.forward(pooled[0]);
    return [this.softmaxInEval && !this.training ? tf.softmax(out) : out];
  }

  forward(inputs: Tensor[]): Tensor[] {
    return this.forwardPooled(this.poolFeatures(inputs));
  }

  loss(scores: Tensor[], labels: Tensor): Record<string, Tensor> {
    const losses: Record<string, Tensor> = { loss: labelSmoothLoss(scores[0], labels, this.labelSmoothVal) };
    if (labels.rank === 1) losses.acc = topkAccuracy(scores[0], labels, 1);
    return losses;
  }
}

const ARGS = { embed_dim: REQUIRED, num_classes: 1000, label_smooth_val: 0.1, init_cfg: undefined as unknown };

export const maeFinetuneHeadEntry = defineComponent({
  type: 'MAEFinetuneHead',
  args: ARGS,
  build: (a) => new FinetuneHead('MAEFinetuneHead', a.embed_dim as unknown as number, a.num_classes, a.label_smooth_val, 2e-5, false),
});

export const maskFeatFinetuneHeadEntry = defineComponent({
  type: 'MaskFeatFinetuneHead',
  args: ARGS,
  build: (a) => new FinetuneHead('MaskFeatFinetuneHead', a.embed_dim as unknown as number, a.num_classes, a.label_smooth_val, 0.02, true),
});
