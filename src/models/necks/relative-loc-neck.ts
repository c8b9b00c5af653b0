import { checkArgs, defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import { Dropout } from '../../engine/layers/dropout.js';
import type { BatchNorm } from '../../engine/layers/batch-norm.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { buildNorm1d, type NormCfg } from '../norm.js';
import { globalAvgPool } from '../ops.js';
import { applyLinearInitCfg } from './init.js';

const DEFAULT_INIT = [{ type: 'Normal', std: 0.01, layer: 'Linear' }, { type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] }];

/**
 * MMSelfSup `RelativeLocNeck`: [avgpool] -> `fc` Linear(2·in, out) -> `bn` (BN1d, momentum 0.003)
 * -> ReLU -> Dropout(0.5). Input: the concatenated features of a patch pair `[[N, H, W, 2·in]]`.
 */
export class RelativeLocNeck extends Module {
  readonly withAvgPool: boolean;
  readonly fc: Linear;
  readonly bn: BatchNorm;
  dropout: Module & { forward(x: Tensor): Tensor } = new Dropout(0.5);

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('RelativeLocNeck', args, ['in_channels', 'out_channels', 'with_avg_pool', 'norm_cfg', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    const out = args.out_channels as number;
    this.fc = this.registerModule('fc', new Linear(2 * (args.in_channels as number), out));
    const norm = (args.norm_cfg as NormCfg | undefined) ?? { type: 'BN1d' };
    this.bn = this.registerModule('bn', buildNorm1d({ ...norm, momentum: 0.003 }, out));
    this.registerModule('dropout', this.dropout);
    applyLinearInitCfg(this, args.init_cfg ?? DEFAULT_INIT, 'RelativeLocNeck');
  }

  forward(inputs: Tensor[]): Tensor[] {
    let x = inputs[0];
    if (this.withAvgPool) x = globalAvgPool(x);
    x = tf.reshape(x, [x.shape[0], -1]);
    return [this.dropout.forward(tf.relu(this.bn.forward(this.fc.forward(x))))];
  }
}

export const relativeLocNeckEntry = defineComponent({ type: 'RelativeLocNeck', build: (a) => new RelativeLocNeck(a) as unknown as ListModule });
