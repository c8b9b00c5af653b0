import { ConfigError } from '../../errors.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import type { Tensor } from '../../engine/tf.js';
import { REQUIRED, defineComponent } from '../../registry/index.js';
import { labelSmoothLoss } from '../losses/label-smooth.js';
import { topkAccuracy } from '../losses/similarity.js';

/**
 * mmcls `LinearClsHead`: `fc` Linear(in_channels, num_classes) on the neck's `[N, C]` feature; the
 * loss is mmcls's `CrossEntropyLoss` or `LabelSmoothLoss` (mode 'original'; soft labels from
 * Mixup/CutMix accepted); `cal_acc` logs top-1 accuracy on hard labels.
 */
export class LinearClsHead extends Module {
  readonly fc: Linear;

  constructor(
    inChannels: number,
    numClasses: number,
    readonly labelSmoothVal: number,
    readonly calAcc: boolean,
  ) {
    super();
    this.fc = this.registerModule('fc', new Linear(inChannels, numClasses));
  }

  poolFeatures(inputs: Tensor[]): Tensor[] {
    const x = inputs[inputs.length - 1];
    if (x.rank !== 2) throw new ConfigError('mmcls.LinearClsHead needs [N, C] features: add a neck such as mmcls.GlobalAveragePooling');
    return [x];
  }

  forwardPooled(pooled: Tensor[]): Tensor[] {
    return [this.fc.forward(pooled[0])];
  }

  forward(inputs: Tensor[]): Tensor[] {
    return this.forwardPooled(this.poolFeatures(inputs));
  }

  loss(scores: Tensor[], labels: Tensor): Record<string, Tensor> {
    const losses: Record<string, Tensor> = { loss: labelSmoothLoss(scores[0], labels, this.labelSmoothVal) };
    if (this.calAcc && labels.rank === 1) losses.acc = topkAccuracy(scores[0], labels, 1);
    return losses;
  }
}

/** label_smooth_val of mmcls's CrossEntropyLoss (0) or LabelSmoothLoss (mode 'original', loss_weight 1). */
function smoothingOf(loss: Record<string, unknown>): number {
  const type = String(loss.type).replace(/^mmcls\./, '');
  const { type: _t, loss_weight: weight = 1, ...rest } = loss;
  if (weight !== 1) throw new ConfigError(`mmcls.LinearClsHead: loss.loss_weight ${String(weight)} is not supported; only 1`);
  if (type === 'CrossEntropyLoss' && Object.keys(rest).length === 0) return 0;
  if (type === 'LabelSmoothLoss') {
    const { label_smooth_val: eps, mode = 'original', ...other } = rest;
    if (mode !== 'original') throw new ConfigError(`mmcls.LinearClsHead: LabelSmoothLoss mode ${JSON.stringify(mode)} is not supported; only 'original'`);
    if (Object.keys(other).length > 0) throw new ConfigError(`mmcls.LinearClsHead: LabelSmoothLoss argument ${Object.keys(other)[0]} is not supported`);
    if (typeof eps !== 'number' || !(eps >= 0 && eps < 1)) throw new ConfigError(`mmcls.LinearClsHead: loss.label_smooth_val must be in [0, 1), got ${JSON.stringify(eps)}`);
    return eps;
  }
  throw new ConfigError(`mmcls.LinearClsHead: loss ${JSON.stringify(loss.type)} with ${Object.keys(rest).join(', ') || 'no arguments'} is not supported; use CrossEntropyLoss or LabelSmoothLoss(mode='original')`);
}

export const linearClsHeadEntry = defineComponent({
  type: 'mmcls.LinearClsHead',
  args: {
    num_classes: REQUIRED as unknown as number,
    in_channels: REQUIRED as unknown as number,
    loss: { type: 'CrossEntropyLoss', loss_weight: 1.0 } as Record<string, unknown>,
    cal_acc: false,
    topk: [1] as unknown,
    init_cfg: undefined as unknown,
  },
  build: (a) => new LinearClsHead(a.in_channels, a.num_classes, smoothingOf(a.loss), Boolean(a.cal_acc)),
});
