import { Module } from '../module.js';
import type { Tensor } from '../tf.js';
import { buildActivation } from './activation.js';
import { Sequential } from './container.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';

/**
 * mmcv's `FFN` (transformer feed-forward): `layers.0.0` Linear(D, F), activation, dropout,
 * `layers.1` Linear(F, D), dropout; identity shortcut added by the caller (add_identity=false) or here.
 */
export class FFN extends Module {
  readonly layers: Sequential;

  constructor(
    embedDims: number,
    feedforwardChannels: number,
    args: { actCfg?: { type: string }; ffnDrop?: number; addIdentity?: boolean } = {},
  ) {
    super();
    const drop = args.ffnDrop ?? 0;
    this.layers = this.registerModule(
      'layers',
      new Sequential(
        new Sequential(new Linear(embedDims, feedforwardChannels), buildActivation(args.actCfg ?? { type: 'GELU' }), new Dropout(drop)),
        new Linear(feedforwardChannels, embedDims),
        new Dropout(drop),
      ),
    );
  }

  /** x `[..., D]` -> `[..., D]` (without the identity shortcut). */
  forward(x: Tensor): Tensor {
    return this.layers.forward(x) as Tensor;
  }
}

/** timm-style `Mlp`: `fc1` Linear(in, hidden), activation, `fc2` Linear(hidden, out), dropout. */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: Module;
  readonly fc2: Linear;
  readonly drop: Dropout;

  constructor(inFeatures: number, hiddenFeatures: number, outFeatures = inFeatures, args: { actCfg?: { type: string }; drop?: number } = {}) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hiddenFeatures));
    this.act = this.registerModule('act', buildActivation(args.actCfg ?? { type: 'GELU' }));
    this.fc2 = this.registerModule('fc2', new Linear(hiddenFeatures, outFeatures));
    this.drop = this.registerModule('drop', new Dropout(args.drop ?? 0));
  }

  forward(x: Tensor): Tensor {
    const h = this.drop.forward((this.act.forward as (t: Tensor) => Tensor).call(this.act, this.fc1.forward(x)));
    return this.drop.forward(this.fc2.forward(h));
  }
}
