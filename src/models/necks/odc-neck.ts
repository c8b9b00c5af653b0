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

const DEFAULT_INIT = [{ type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] }];

/**
 * MMSelfSup `ODCNeck`: [avgpool] -> `fc0` Linear(in, hid) -> `bn0` (BN1d without affine, momentum
 * 0.001) -> ReLU -> Dropout(0.5) -> `fc1` Linear(hid, out) -> ReLU.
 */
export class ODCNeck extends Module {
  readonly withAvgPool: boolean;
  readonly fc0: Linear;
  readonly bn0: BatchNorm;
  readonly fc1: Linear;
  dropout: Module & { forward(x: Tensor): Tensor } = new Dropout(0.5);

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('ODCNeck', args, ['in_channels', 'hid_channels', 'out_channels', 'with_avg_pool', 'norm_cfg', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    const hid = args.hid_channels as number;
    this.fc0 = this.registerModule('fc0', new Linear(args.in_channels as number, hid));
    const norm = (args.norm_cfg as NormCfg | undefined) ?? { type: 'SyncBN' };
    this.bn0 = this.registerModule('bn0', buildNorm1d({ ...norm, momentum: 0.001, affine: false }, hid));
    this.fc1 = this.registerModule('fc1', new Linear(hid, args.out_channels as number));
    this.registerModule('dropout', this.dropout);
    applyLinearInitCfg(this, args.init_cfg ?? DEFAULT_INIT, 'ODCNeck');
  }

  forward(inputs: Tensor[]): Tensor[] {
    if (inputs.length !== 1) throw new Error(`ODCNeck takes one feature map, got ${inputs.length}`);
    let x = inputs[0];
    if (this.withAvgPool) x = globalAvgPool(x);
    x = tf.reshape(x, [x.shape[0], -1]);
    x = this.dropout.forward(tf.relu(this.bn0.forward(this.fc0.forward(x))));
    return [tf.relu(this.fc1.forward(x))];
  }
}

export const odcNeckEntry = defineComponent({ type: 'ODCNeck', build: (a) => new ODCNeck(a) as unknown as ListModule });
