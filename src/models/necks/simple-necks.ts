import { checkArgs, defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import { Sequential, Identity } from '../../engine/layers/container.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { globalAvgPool } from '../ops.js';
import { applyLinearInitCfg } from './init.js';

class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return tf.relu(x);
  }
}

/**
 * MMSelfSup `MoCoV2Neck`: [avgpool] -> Linear(in, hid) -> ReLU -> Linear(hid, out), no BN.
 * Names `mlp.0.weight`, `mlp.2.weight`. `[[N, H, W, C]]` -> `[[N, out]]`.
 */
export class MoCoV2Neck extends Module {
  readonly withAvgPool: boolean;
  readonly mlp: Sequential;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('MoCoV2Neck', args, ['in_channels', 'hid_channels', 'out_channels', 'with_avg_pool', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    const inC = args.in_channels as number;
    const hid = args.hid_channels as number;
    this.mlp = this.registerModule('mlp', new Sequential(new Linear(inC, hid), new ReLU(), new Linear(hid, args.out_channels as number)));
    applyLinearInitCfg(this, args.init_cfg, 'MoCoV2Neck');
  }

  forward(inputs: Tensor[]): Tensor[] {
    let x = inputs[inputs.length - 1];
    if (this.withAvgPool) x = globalAvgPool(x);
    x = tf.reshape(x, [x.shape[0], -1]);
    return [this.mlp.forward(x) as Tensor];
  }
}

/** MMSelfSup `LinearNeck`: [avgpool] -> `fc` Linear(in, out). */
export class LinearNeck extends Module {
  readonly withAvgPool: boolean;
  readonly fc: Linear;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('LinearNeck', args, ['in_channels', 'out_channels', 'with_avg_pool', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    this.fc = this.registerModule('fc', new Linear(args.in_channels as number, args.out_channels as number));
  }

  forward(inputs: Tensor[]): Tensor[] {
    let x = inputs[inputs.length - 1];
    if (this.withAvgPool) x = globalAvgPool(x);
    return [this.fc.forward(tf.reshape(x, [x.shape[0], -1]))];
  }
}

/** MMSelfSup `AvgPool2dNeck` (output_size 1 only): `[[N, H, W, C]]` -> `[[N, 1, 1, C]]`. */
export class AvgPool2dNeck extends Module {
  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('AvgPool2dNeck', args, ['output_size']);
    if ((args.output_size ?? 1) !== 1) throw new Error('AvgPool2dNeck: only output_size 1 is supported');
  }

  forward(inputs: Tensor[]): Tensor[] {
    const x = inputs[inputs.length - 1];
    return [tf.mean(x, [1, 2], true)];
  }
}

export { Identity };

export const moCoV2NeckEntry = defineComponent({ type: 'MoCoV2Neck', build: (a) => new MoCoV2Neck(a) as unknown as ListModule });
export const linearNeckEntry = defineComponent({ type: 'LinearNeck', build: (a) => new LinearNeck(a) as unknown as ListModule });
export const avgPool2dNeckEntry = defineComponent({ type: 'AvgPool2dNeck', build: (a) => new AvgPool2dNeck(a) as unknown as ListModule });
