import { checkArgs, defineComponent } from '../../registry/index.js';
import type { ListModule } from '../algorithms/base.js';
import { Module } from '../../engine/module.js';
import { Linear } from '../../engine/layers/linear.js';
import { Sequential } from '../../engine/layers/container.js';
import { ReLU } from '../../engine/layers/activation.js';
import { tf, type Tensor } from '../../engine/tf.js';
import { buildNorm1d, type NormCfg } from '../norm.js';
import { globalAvgPool, l2Normalize } from '../ops.js';
import { applyLinearInitCfg } from './init.js';

const DEFAULT_INIT = [{ type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] }];

/**
 * MMSelfSup `SwAVNeck`: one backbone output per crop-resolution group, each [avgpool]ed, concatenated
 * (`[sum(num_crops)·N, C]`), then fc -> BN -> ReLU -> fc (`hid_channels` 0: one fc; `out_channels` 0:
 * none) and, with `with_l2norm`, L2-normalised rows.
 */
export class SwAVNeck extends Module {
  readonly withAvgPool: boolean;
  readonly withL2norm: boolean;
  readonly projection: ((x: Tensor) => Tensor) | null;

  constructor(args: Record<string, unknown>) {
    super();
    checkArgs('SwAVNeck', args, ['in_channels', 'hid_channels', 'out_channels', 'with_avg_pool', 'with_l2norm', 'norm_cfg', 'init_cfg']);
    this.withAvgPool = (args.with_avg_pool as boolean) ?? true;
    this.withL2norm = (args.with_l2norm as boolean) ?? true;
    const [inC, hid, out] = [args.in_channels as number, args.hid_channels as number, args.out_channels as number];
    if (out === 0) {
      this.projection = null;
    } else if (hid === 0) {
      const fc = this.registerModule('projection_neck', new Linear(inC, out));
      this.projection = (x) => fc.forward(x);
    } else {
      const bn = buildNorm1d((args.norm_cfg as NormCfg | undefined) ?? { type: 'SyncBN' }, hid);
      const seq = this.registerModule('projection_neck', new Sequential(new Linear(inC, hid), bn, new ReLU(), new Linear(hid, out)));
      this.projection = (x) => seq.forward(x) as Tensor;
    }
    applyLinearInitCfg(this, args.init_cfg ?? DEFAULT_INIT, 'SwAVNeck');
  }

  /** One backbone feature map per resolution group, `[n_g, H, W, C]` -> `[[sum n_g, out]]`. */
  forward(groups: Tensor[]): Tensor[] {
    const pooled = groups.map((g) => (this.withAvgPool ? globalAvgPool(g) : g));
    let x = pooled.length === 1 ? pooled[0] : tf.concat(pooled, 0);
    x = tf.reshape(x, [x.shape[0], -1]);
    if (this.projection) x = this.projection(x);
    return [this.withL2norm ? l2Normalize(x) : x];
  }
}

export const swavNeckEntry = defineComponent({ type: 'SwAVNeck', build: (a) => new SwAVNeck(a) as unknown as ListModule });
